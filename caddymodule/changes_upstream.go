package caddymodule

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/changegate/changegate/changes"
	"github.com/changegate/changegate/changes/upstream"
)

// ChangesUpstream is the Kinto-compatible server a sidecar `changes`
// reads instead of a docstore: the one its `reverse_proxy` sends the
// other requests to.
type ChangesUpstream struct {
	// URL is the upstream API root, version prefix included:
	// http://127.0.0.1:8888/v1.
	URL string `json:"url"`
	// PollInterval is the mean time between two conditional polls of
	// every watched collection (±20% jitter). Default: 5s.
	PollInterval caddy.Duration `json:"poll_interval,omitempty"`
	// PollConcurrency bounds the poll requests in flight. Default: 4.
	PollConcurrency int `json:"poll_concurrency,omitempty"`
	// RelistInterval is how often the collections of the monitored
	// buckets are listed again. Default: 30s.
	RelistInterval caddy.Duration `json:"relist_interval,omitempty"`
	// Timeout bounds every upstream request. Default: 10s.
	Timeout caddy.Duration `json:"timeout,omitempty"`
	// MaxBackoff bounds the poll delay while the upstream is away.
	// Default: 30s.
	MaxBackoff caddy.Duration `json:"max_backoff,omitempty"`
	// Authorization is the Authorization header of the sidecar's own
	// requests (polling, bucket listing, shared changeset reads): service
	// credentials that may read every monitored collection. Placeholders
	// such as {env.KINTO_AUTH} are replaced. Default: none (anonymous).
	Authorization string `json:"authorization,omitempty"`
	// ForwardHeaders are the client headers, besides Authorization,
	// forwarded to the upstream's permission checks.
	ForwardHeaders []string `json:"forward_headers,omitempty"`
	// CORSOrigins are the origins allowed to read the sidecar's answers
	// with credentials; keep it equal to the upstream's cors_origins.
	// Default: any origin, without credentials.
	CORSOrigins []string `json:"cors_origins,omitempty"`
	// AuthCacheTTL is how long the upstream's "may read" answer is reused
	// for the same credentials and collection. Default: 1s; 0 asks every
	// time.
	AuthCacheTTL *caddy.Duration `json:"auth_cache_ttl,omitempty"`
	// MaxCollections bounds the collections watched besides the
	// monitored ones. Default: 10000.
	MaxCollections int `json:"max_collections,omitempty"`
	// MaxBody bounds an upstream answer read. Default: 64 MiB.
	MaxBody int64 `json:"max_body,omitempty"`
	// MaxObservedBody bounds the write answers read on their way to the
	// client. Default: 1 MiB.
	MaxObservedBody int64 `json:"max_observed_body,omitempty"`
	// TimestampTolerance is how far past the clock a last_modified in a
	// write passing through may be; later ones are refused (400 errno
	// 107) before they reach the upstream. Bodies longer than
	// MaxObservedBody are not checked. Default: 10m.
	TimestampTolerance caddy.Duration `json:"timestamp_tolerance,omitempty"`
}

// provisionUpstream builds the endpoints over the upstream, with state
// shared by every config with the same upstream settings.
func (c *Changes) provisionUpstream() error {
	opts, err := c.Upstream.options(c.cfg)
	if err != nil {
		return fmt.Errorf("changes: %v", err)
	}
	opts.Logger = c.logger
	settings, err := json.Marshal(struct {
		*ChangesUpstream
		Resources []string
		Prefix    string
	}{c.Upstream, c.cfg.Resources, c.cfg.Prefix})
	if err != nil {
		return fmt.Errorf("changes: %v", err)
	}
	key := "upstream " + string(settings)
	v, _, err := changesStates.LoadOrNew(key, func() (caddy.Destructor, error) {
		src, err := upstream.New(opts)
		if err != nil {
			return nil, err
		}
		state, err := changes.NewState(src, c.CacheSize, c.logger)
		if err != nil {
			src.Close()
			return nil, err
		}
		src.Start()
		return pooledSidecar{state, src}, nil
	})
	if err != nil {
		return fmt.Errorf("changes over %s: %v", c.Upstream.URL, err)
	}
	ps := v.(pooledSidecar)
	c.live.onCleanup(func() { _, _ = changesStates.Delete(key) })
	ps.SetCacheBytes(c.CacheSize)
	// Permission changes made straight to the upstream are not seen:
	// ask again about the anonymous monitor view once per poll.
	c.cfg.VisibilityTTL = cmp.Or(opts.PollInterval, upstream.DefaultPollInterval)
	h, err := changes.NewHandler(c.cfg, ps.State, ps.src.Access(), c.logger)
	if err != nil {
		return fmt.Errorf("changes: %v", err)
	}
	c.sidecar = &upstream.Proxy{Source: ps.src, Prefix: c.cfg.Prefix, Capability: c.cfg.Capability(),
		MaxObservedBody: c.Upstream.MaxObservedBody, Tolerance: time.Duration(c.Upstream.TimestampTolerance)}
	c.live.handler.Store(h)
	return nil
}

// options translates the settings.
func (u *ChangesUpstream) options(cfg changes.Config) (upstream.Options, error) {
	repl := caddy.NewReplacer()
	o := upstream.Options{
		URL:             repl.ReplaceKnown(u.URL, ""),
		Resources:       cfg.Resources,
		PollInterval:    time.Duration(u.PollInterval),
		PollConcurrency: u.PollConcurrency,
		RelistInterval:  time.Duration(u.RelistInterval),
		Timeout:         time.Duration(u.Timeout),
		MaxBackoff:      time.Duration(u.MaxBackoff),
		Authorization:   repl.ReplaceKnown(u.Authorization, ""),
		ForwardHeaders:  u.ForwardHeaders,
		CORSOrigins:     u.CORSOrigins,
		AuthCacheTTL:    upstream.DefaultAuthCacheTTL,
		MaxCollections:  u.MaxCollections,
		MaxBody:         u.MaxBody,
	}
	if u.AuthCacheTTL != nil {
		o.AuthCacheTTL = time.Duration(*u.AuthCacheTTL)
	}
	if u.URL == "" {
		return o, fmt.Errorf("upstream: a URL is required")
	}
	return o, nil
}

// pooledSidecar stops polling once no config uses the upstream.
type pooledSidecar struct {
	*changes.State
	src *upstream.Source
}

// Destruct stops following the upstream.
func (p pooledSidecar) Destruct() error {
	p.Close()
	p.src.Close()
	return nil
}

// serveUpstream answers the changes endpoints and the heartbeat, and
// passes the rest to the next handler (reverse_proxy) through the
// upstream.Proxy.
func (c *Changes) serveUpstream(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	return c.live.handler.Load().Serve(w, r, func(w http.ResponseWriter, r *http.Request) error {
		return c.passUpstream(w, r, next)
	})
}

// passUpstream answers the heartbeat and passes the rest to the next
// handler through the upstream.Proxy.
func (c *Changes) passUpstream(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if c.isHeartbeat(r) {
		return c.serveHeartbeat(w, r, next)
	}
	err := c.sidecar.Serve(w, r, next.ServeHTTP)
	if errors.Is(err, upstream.ErrReadingBody) {
		return caddyhttp.Error(http.StatusBadRequest, err)
	}
	return err
}
