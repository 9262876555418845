package caddymodule

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/changegate/changegate/changes"
	"github.com/changegate/changegate/changes/upstream"
	"github.com/changegate/changegate/kinto"
)

// defaultObservedBody bounds the write answers kept to read their
// timestamps; a longer one (a big batch) makes the sidecar poll at once.
const defaultObservedBody = 1 << 20

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

// defaultTimestampTolerance is the docstore's own default.
const defaultTimestampTolerance = 10 * time.Minute

// sidecar is what a Changes over an upstream holds.
type sidecar struct {
	src       *upstream.Source
	maxBody   int64
	tolerance time.Duration
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
	c.sidecar = &sidecar{src: ps.src, maxBody: cmp.Or(c.Upstream.MaxObservedBody, defaultObservedBody),
		tolerance: cmp.Or(time.Duration(c.Upstream.TimestampTolerance), defaultTimestampTolerance)}
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

// serveUpstream answers the changes endpoints, and passes the rest to
// the next handler (reverse_proxy), reading the answers to writes on the
// way back so that the registry and feeds learn of them at once.
func (c *Changes) serveUpstream(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if c.live.handler.Load().Serve(w, r) {
		return nil
	}
	if r.Method == http.MethodGet && r.URL.Path == c.cfg.Prefix+"/" {
		return c.serveRoot(w, r, next)
	}
	if c.isHeartbeat(r) {
		return c.serveHeartbeat(w, r, next)
	}
	if !upstream.Observes(c.cfg.Prefix, r.Method, r.URL.Path) {
		return next.ServeHTTP(w, r)
	}
	if refused, err := c.sidecar.futureTimestamp(c.cfg.Prefix, r); refused != nil || err != nil {
		if refused != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(refused.Code)
			_, err = w.Write(refused.Body())
		}
		return err
	}
	// The answer to a write is small: asking it uncompressed lets the
	// sidecar read it (an `encode` in front still compresses it for the
	// client).
	r.Header.Del("Accept-Encoding")
	ow := &observingWriter{ResponseWriterWrapper: &caddyhttp.ResponseWriterWrapper{ResponseWriter: w}, max: c.sidecar.maxBody, length: -1}
	ow.observe = func() {
		complete := !ow.truncated && identityEncoded(ow.Header())
		c.sidecar.src.Observe(c.cfg.Prefix, r.Method, r.URL.Path, cmp.Or(ow.status, http.StatusOK), ow.Header(), ow.body, complete)
	}
	err := next.ServeHTTP(ow, r)
	ow.done()
	return err
}

// futureTimestamp reads the start of a write's body (what fits in
// maxBody, then puts it back for the upstream) and refuses a
// last_modified beyond the tolerance (see upstream.FutureTimestamp).
func (sc *sidecar) futureTimestamp(prefix string, r *http.Request) (*kinto.Error, error) {
	var head []byte
	if r.Body != nil && r.Body != http.NoBody {
		var err error
		head, err = io.ReadAll(io.LimitReader(r.Body, sc.maxBody+1))
		if err != nil {
			return nil, caddyhttp.Error(http.StatusBadRequest, fmt.Errorf("reading the request body: %w", err))
		}
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(head), r.Body), r.Body}
		if int64(len(head)) > sc.maxBody {
			return nil, nil
		}
	}
	return upstream.FutureTimestamp(prefix, r, head, time.Now(), sc.tolerance), nil
}

// serveRoot passes GET /v1/ to the upstream and lists the "changes"
// capability in its answer, as the docstore does in standalone mode (and
// as Kinto does with the changes plugin), unless the upstream lists one.
func (c *Changes) serveRoot(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	r.Header.Del("Accept-Encoding")
	var buf bytes.Buffer
	rec := caddyhttp.NewResponseRecorder(w, &buf, func(status int, hd http.Header) bool {
		return status == http.StatusOK && identityEncoded(hd) && strings.HasPrefix(hd.Get("Content-Type"), "application/json")
	})
	if err := next.ServeHTTP(rec, r); err != nil {
		return err
	}
	if !rec.Buffered() {
		return nil
	}
	body := buf.Bytes()
	if caps := gjson.GetBytes(body, "capabilities"); caps.IsObject() && !caps.Get("changes").Exists() {
		if patched, err := sjson.SetBytes(body, "capabilities.changes", c.cfg.Capability()); err == nil {
			body = patched
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rec.Status())
	_, err := w.Write(body)
	return err
}

// identityEncoded reports a body that is not compressed.
func identityEncoded(hd http.Header) bool {
	ce := hd.Get("Content-Encoding")
	return ce == "" || strings.EqualFold(ce, "identity")
}

// observingWriter passes a write's answer through untouched while keeping
// a copy of its first max bytes. When the answer has a Content-Length,
// it is observed before its last bytes go out, so that a client that
// got the answer to its write finds the change in the monitor and feeds
// (read your writes); otherwise when the handler returns.
type observingWriter struct {
	*caddyhttp.ResponseWriterWrapper
	status    int
	length    int64
	body      []byte
	max       int64
	written   int64
	truncated bool
	observe   func()
	observed  bool
}

// WriteHeader notes the status and the announced length.
func (w *observingWriter) WriteHeader(status int) {
	if w.status == 0 && status >= 200 {
		w.status = status
		if n, err := strconv.ParseInt(w.Header().Get("Content-Length"), 10, 64); err == nil {
			w.length = n
		}
	}
	w.ResponseWriterWrapper.WriteHeader(status)
}

// Write copies what fits, observes the answer if this is its end, then
// writes.
func (w *observingWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if room := w.max - int64(len(w.body)); room >= int64(len(p)) {
		w.body = append(w.body, p...)
	} else {
		w.truncated = true
	}
	w.written += int64(len(p))
	if w.length >= 0 && w.written >= w.length {
		w.done()
	}
	return w.ResponseWriterWrapper.Write(p)
}

// done observes the answer once.
func (w *observingWriter) done() {
	if !w.observed {
		w.observed = true
		w.observe()
	}
}

// ReadFrom copies through Write, so that nothing bypasses the copy.
func (w *observingWriter) ReadFrom(r io.Reader) (int64, error) {
	return io.Copy(struct{ io.Writer }{w}, r)
}

// FlushError flushes the client's writer.
func (w *observingWriter) FlushError() error {
	return http.NewResponseController(w.ResponseWriterWrapper.ResponseWriter).Flush()
}

// Interface guards
var _ http.ResponseWriter = (*observingWriter)(nil)
