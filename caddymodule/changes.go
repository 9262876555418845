package caddymodule

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/changegate/changegate/changes"
	"github.com/changegate/changegate/changes/upstream"
	"github.com/changegate/changegate/docstore"
)

func init() {
	caddy.RegisterModule(Changes{})
}

// changesStates holds the state of the changes endpoints per store (the
// registry of collection timestamps, the cache of rendered changesets,
// the broadcast debounce), so that it survives config reloads.
var changesStates = caddy.NewUsagePool()

// Changes answers Kinto's change-aggregation endpoints
// (http.handlers.changes): GET /v1/buckets/monitor/collections/changes/
// records and .../changeset, GET /v1/buckets/{bid}/collections/{cid}/
// changeset and GET /v1/__broadcasts__, and passes every other request to
// the next handler. It reads the docstore of the same config (standalone
// mode), with that docstore's users and permissions, and lists a
// "changes" capability at its GET /v1/. The settings carry the names of
// the Kinto settings they mirror.
type Changes struct {
	// Docstore is the storage path of the docstore to read, needed only
	// when the config has several docstores over different storages.
	Docstore string `json:"docstore,omitempty"`
	// Prefix is the API version prefix. Default: /v1.
	Prefix string `json:"prefix,omitempty"`
	// Resources are the bucket URIs (/buckets/<bid>) and collection URIs
	// (/buckets/<bid>/collections/<cid>) to monitor
	// (kinto.changes.resources). Default: none.
	Resources []string `json:"resources,omitempty"`
	// ExcludedCollections are left out of the monitor, same syntax
	// (kinto.changes.excluded_collections).
	ExcludedCollections []string `json:"excluded_collections,omitempty"`
	// HTTPHost is the entries' host and is hashed into their ids
	// (kinto.http_host). Default: empty.
	HTTPHost string `json:"http_host,omitempty"`
	// HTTPScheme is the scheme of redirect URLs (kinto.http_scheme).
	// Default: https.
	HTTPScheme string `json:"http_scheme,omitempty"`
	// ChangesHTTPHost is the host of redirect URLs
	// (kinto.changes.http_host). Default: HTTPHost; when both are empty,
	// the host the client asked.
	ChangesHTTPHost string `json:"changes_http_host,omitempty"`
	// SinceMaxAgeDays redirects a monitor _since older than this to the
	// URL without it; -1 disables (kinto.changes.since_max_age_days).
	// Default: 21.
	SinceMaxAgeDays *int `json:"since_max_age_days,omitempty"`
	// SinceMaxAgeRedirectTTLSeconds is the cache TTL of that redirect and
	// of the stale-_expected 204; -1 sends no cache headers
	// (kinto.changes.since_max_age_redirect_ttl_seconds). Default: 86400.
	SinceMaxAgeRedirectTTLSeconds *int `json:"since_max_age_redirect_ttl_seconds,omitempty"`
	// RecordCache maps Kinto setting names to TTLs in seconds:
	// record_cache_expires_seconds (global),
	// <bid>.record_cache_expires_seconds and
	// <bid>.<cid>.record_cache_expires_seconds,
	// <bid>.<cid>.record_cache_minimum_expires_seconds (for _expected=0
	// or 9999…), <bid>.<cid>.record_cache_maximum_expires_seconds (for
	// any other _expected). The monitor is monitor.changes. Default: none
	// (no Cache-Control).
	RecordCache map[string]int `json:"record_cache,omitempty"`
	// PaginateBy bounds _limit and pages the legacy records list
	// (kinto.paginate_by). Default: none.
	PaginateBy int `json:"paginate_by,omitempty"`
	// StorageMaxFetchSize bounds _limit (kinto.storage_max_fetch_size).
	// Default: 10000.
	StorageMaxFetchSize int `json:"storage_max_fetch_size,omitempty"`
	// PushBroadcastMinDebounceIntervalSeconds debounces
	// /__broadcasts__ (kinto.push_broadcast_min_debounce_interval_seconds).
	// Default: 300.
	PushBroadcastMinDebounceIntervalSeconds *int `json:"push_broadcast_min_debounce_interval_seconds,omitempty"`
	// CacheSize bounds, in bytes, the rendered changesets kept in memory
	// (shared by every config over the same store). Default: 64 MiB.
	CacheSize int64 `json:"cache_size,omitempty"`
	// FeedTimeoutMax caps how long a _changes feed waits idle, whatever
	// timeout or heartbeat the client asks (CouchDB's [chttpd]
	// changes_timeout). Default: 60s.
	FeedTimeoutMax caddy.Duration `json:"feed_timeout_max,omitempty"`
	// Heartbeat is the period of a _changes heartbeat=true. Default: 30s,
	// below one-minute idle timeouts.
	Heartbeat caddy.Duration `json:"heartbeat,omitempty"`
	// MonitorVisibility is "readable" (the default: a caller sees in the
	// monitor, its _changes feed and __broadcasts__ only the collections
	// it may read; anonymous callers, those readable by system.Everyone)
	// or "all" (every monitored collection to anyone, as the reference
	// plugin does).
	MonitorVisibility string `json:"monitor_visibility,omitempty"`
	// Upstream, when set, is the Kinto-compatible server to read instead
	// of a docstore (sidecar mode, next to reverse_proxy); see
	// changes_upstream.go.
	Upstream *ChangesUpstream `json:"upstream,omitempty"`

	cfg     changes.Config
	app     *App
	sidecar *upstream.Proxy
	logger  *slog.Logger
	live    *changesLive
}

// changesLive is what a provisioned Changes holds: its endpoints once
// linked, and what Cleanup releases.
type changesLive struct {
	mu      sync.Mutex
	release []func()
	handler atomic.Pointer[changes.Handler]
}

// onCleanup adds fn to what Cleanup releases (in reverse order).
func (l *changesLive) onCleanup(fn func()) {
	l.mu.Lock()
	l.release = append(l.release, fn)
	l.mu.Unlock()
}

// CaddyModule returns the Caddy module information.
func (Changes) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.changes",
		New: func() caddy.Module { return new(Changes) },
	}
}

// Provision checks the settings and claims the config's docstore in the
// app: the link is made now if the docstore was provisioned first, else
// when it is.
func (c *Changes) Provision(ctx caddy.Context) error {
	c.logger = ctx.Slogger()
	c.live = &changesLive{}
	app, err := appOf(ctx)
	if err != nil {
		return fmt.Errorf("changes: %v", err)
	}
	c.app = app
	c.cfg = c.config()
	if v := c.MonitorVisibility; v != "" && v != "readable" && v != "all" {
		return fmt.Errorf("changes: monitor_visibility: want readable or all, got %q", v)
	}
	if err := c.cfg.Validate(); err != nil {
		return fmt.Errorf("changes: %v", err)
	}
	// The server waits for requests in flight when it shuts down (config
	// reload included): end the live feeds then, and at cleanup.
	if srv, ok := ctx.Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server); ok {
		srv.RegisterOnShutdown(c.live.shutdown)
	}
	c.live.onCleanup(c.live.shutdown)
	if err := registerMetrics(ctx); err != nil {
		return fmt.Errorf("changes: %v", err)
	}
	if c.Upstream != nil {
		return c.provisionUpstream()
	}
	err = c.app.claimDocstore(&docstoreClaim{
		path:    c.Docstore,
		capName: "changes",
		capBody: c.cfg.Capability(),
		link:    c.link,
	})
	if err != nil {
		return fmt.Errorf("changes: %v", err)
	}
	return nil
}

// shutdown ends the live _changes feeds of the linked endpoints.
func (l *changesLive) shutdown() {
	if h := l.handler.Load(); h != nil {
		h.Shutdown()
	}
}

// config translates the module's settings, with the reference defaults.
func (c *Changes) config() changes.Config {
	cfg := changes.DefaultConfig()
	if c.Prefix != "" {
		cfg.Prefix = c.Prefix
	}
	cfg.Resources = c.Resources
	cfg.ExcludedCollections = c.ExcludedCollections
	cfg.HTTPHost = c.HTTPHost
	cfg.HTTPScheme = c.HTTPScheme
	cfg.ChangesHTTPHost = c.ChangesHTTPHost
	if c.SinceMaxAgeDays != nil {
		cfg.SinceMaxAgeDays = *c.SinceMaxAgeDays
	}
	if c.SinceMaxAgeRedirectTTLSeconds != nil {
		cfg.SinceMaxAgeRedirectTTLSeconds = *c.SinceMaxAgeRedirectTTLSeconds
	}
	cfg.RecordCache = c.RecordCache
	cfg.PaginateBy = c.PaginateBy
	if c.StorageMaxFetchSize != 0 {
		cfg.StorageMaxFetchSize = c.StorageMaxFetchSize
	}
	if c.PushBroadcastMinDebounceIntervalSeconds != nil {
		cfg.BroadcastDebounce = time.Duration(*c.PushBroadcastMinDebounceIntervalSeconds) * time.Second
	}
	cfg.Version = docstore.Version
	cfg.MonitorListAll = c.MonitorVisibility == "all"
	if c.FeedTimeoutMax > 0 {
		cfg.FeedTimeoutMax = time.Duration(c.FeedTimeoutMax)
	}
	if c.Heartbeat > 0 {
		cfg.FeedHeartbeat = time.Duration(c.Heartbeat)
	}
	return cfg
}

// link builds the endpoints over the docstore chosen for this config,
// with the store's shared state.
func (c *Changes) link(e *docstoreEntry) error {
	key := e.storage.key()
	v, _, err := changesStates.LoadOrNew(key, func() (caddy.Destructor, error) {
		state, err := changes.NewState(docstore.ChangeSource{Store: e.store}, c.CacheSize, c.logger)
		if err != nil {
			return nil, err
		}
		return pooledState{state}, nil
	})
	if err != nil {
		return fmt.Errorf("changes over %s: %v", e.storage.Path, err)
	}
	state := v.(pooledState).State
	state.SetCacheBytes(c.CacheSize)
	h, err := changes.NewHandler(c.cfg, state, docstore.ChangeAccess{Handler: e.handler}, c.logger)
	if err != nil {
		_, _ = changesStates.Delete(key)
		return err
	}
	c.live.onCleanup(func() { _, _ = changesStates.Delete(key) })
	c.live.handler.Store(h)
	return nil
}

// pooledState closes a store's changes state once no config uses it.
type pooledState struct{ *changes.State }

// Destruct stops following the store.
func (p pooledState) Destruct() error {
	p.Close()
	return nil
}

// Cleanup drops this config's use of the state.
func (c *Changes) Cleanup() error {
	if c.live == nil {
		return nil
	}
	c.live.mu.Lock()
	release := c.live.release
	c.live.release = nil
	c.live.mu.Unlock()
	for i := len(release) - 1; i >= 0; i-- {
		release[i]()
	}
	return nil
}

// errNoDocstore is the answer when the config has no docstore to read.
var errNoDocstore = errors.New("changes: no docstore in this config to read changes from")

// ServeHTTP answers the changes endpoints and passes the rest on.
func (c *Changes) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if c.sidecar != nil {
		return c.serveUpstream(w, r, next)
	}
	h := c.live.handler.Load()
	if h == nil {
		if !c.cfg.Handles(r) {
			return next.ServeHTTP(w, r)
		}
		return caddyhttp.Error(http.StatusInternalServerError, errNoDocstore)
	}
	return h.Serve(w, withCaddyUser(r), next.ServeHTTP)
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Changes)(nil)
	_ caddy.CleanerUpper          = (*Changes)(nil)
	_ caddyhttp.MiddlewareHandler = (*Changes)(nil)
)
