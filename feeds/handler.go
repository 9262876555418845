package feeds

import (
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/changegate/changegate/internal/middleware"
)

// Config holds the settings of the feeds.
type Config struct {
	// Prefix is the API version prefix, /v1.
	Prefix string
	// FeedTimeoutMax caps how long a _changes feed waits idle (CouchDB's
	// [chttpd] changes_timeout): timeout and heartbeat beyond it are
	// brought down to it. 0 means DefaultFeedTimeoutMax.
	FeedTimeoutMax time.Duration
	// FeedHeartbeat is the period of heartbeat=true, below Caddy's and
	// most proxies' one-minute idle timeouts. 0 means
	// DefaultFeedHeartbeat.
	FeedHeartbeat time.Duration
}

// Feed defaults: CouchDB's 60 s changes_timeout, and heartbeat=true at
// 30 s instead of CouchDB's 60 s so that an idle feed writes before a
// one-minute idle timeout closes it.
const (
	DefaultFeedTimeoutMax = 60 * time.Second
	DefaultFeedHeartbeat  = 30 * time.Second
)

// monitorKey is the virtual monitor/changes collection of package
// changes, which Monitor reads.
var monitorKey = Key{Bucket: "monitor", Collection: "changes"}

// Handler answers the CouchDB-style endpoints of the collections and of
// the monitor: _changes, the database info and the pull-replication
// reads.
type Handler struct {
	cfg     Config
	source  Source
	hub     *Hub
	monitor Monitor
	access  Access
	logger  *slog.Logger
	// stop ends the live feeds (Shutdown).
	stop     chan struct{}
	stopOnce sync.Once
}

// NewHandler returns the feeds of cfg: the collections of src, whose
// events hub receives, and monitor, with access's permissions and
// headers.
func NewHandler(cfg Config, src Source, hub *Hub, monitor Monitor, access Access, logger *slog.Logger) *Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Handler{cfg: cfg, source: src, hub: hub, monitor: monitor, access: access, logger: logger, stop: make(chan struct{})}
}

// route is an endpoint this handler answers.
type route int

const (
	routeNone route = iota
	routeFeed
	routeMonitorFeed
	routeFeedDB
	routeMonitorFeedDB
)

// route finds the endpoint of a URL path below prefix, and its
// collection.
func routeOf(prefix, path string) (route, Key) {
	rest, ok := strings.CutPrefix(path, prefix)
	if !ok {
		return routeNone, Key{}
	}
	if rt, k := feedRoute(rest); rt != routeNone {
		return rt, k
	}
	rt, k, _ := replicationRoute(rest)
	return rt, k
}

// Serve answers r if it is for one of the endpoints; other requests
// (and CORS preflights, which the store answers) go to next untouched, as
// does everything once the store's end of service passed.
func (h *Handler) Serve(w http.ResponseWriter, r *http.Request, next middleware.Next) error {
	if h.answer(w, r) {
		return nil
	}
	return next(w, r)
}

// answer answers r if it is for one of the endpoints and reports whether
// it did.
func (h *Handler) answer(w http.ResponseWriter, r *http.Request) bool {
	rt, k := routeOf(h.cfg.Prefix, r.URL.Path)
	if rt == routeNone || r.Method == http.MethodOptions || !handlesReplication(rt, r.Method) || h.access.EndOfService() {
		return false
	}
	if rt > routeReplicate {
		return h.serveReplication(w, r, rt, k)
	}
	return h.serveFeedRoute(w, r, rt, k)
}

// Handles reports whether a handler with the version prefix prefix
// answers r.
func Handles(prefix string, r *http.Request) bool {
	rt, _ := routeOf(prefix, r.URL.Path)
	if (rt == routeFeedDB || rt == routeMonitorFeedDB) && r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	return rt != routeNone && r.Method != http.MethodOptions && handlesReplication(rt, r.Method)
}

// Shutdown ends the live feeds cleanly (continuous gets its last_seq
// line), for a config reload or a server shutdown, which wait for the
// requests in flight.
func (h *Handler) Shutdown() {
	h.stopOnce.Do(func() { close(h.stop) })
}

// Interface guard
var _ middleware.Handler = (*Handler)(nil)
