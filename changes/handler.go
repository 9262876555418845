package changes

import (
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/changegate/changegate/feeds"
	"github.com/changegate/changegate/internal/middleware"
	"github.com/changegate/changegate/kinto"
)

// Paths of the monitor collection, below the version prefix.
const (
	monitorRecordsPath   = "/buckets/monitor/collections/changes/records"
	monitorChangesetPath = "/buckets/monitor/collections/changes/changeset"
	broadcastsPath       = "/__broadcasts__"
)

// monitorKey is the virtual monitor/changes collection.
var monitorKey = kinto.Key{Bucket: "monitor", Collection: "changes"}

// Handler answers the Kinto change-aggregation endpoints:
// GET /v1/buckets/monitor/collections/changes/records,
// GET /v1/buckets/monitor/collections/changes/changeset,
// GET /v1/buckets/{bid}/collections/{cid}/changeset and
// GET /v1/__broadcasts__.
type Handler struct {
	cfg    Config
	ttls   ttls
	state  *State
	view   *monitorView
	access kinto.Access
	logger *slog.Logger
	now    func() time.Time
	// feeds answers the CouchDB-style endpoints (package feeds).
	feeds *feeds.Handler
}

// NewHandler returns the endpoints of cfg over state, with access's
// permissions and headers.
func NewHandler(cfg Config, state *State, access kinto.Access, logger *slog.Logger) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	t, _ := parseTTLs(cfg.RecordCache)
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	h := &Handler{cfg: cfg, ttls: t, state: state, view: state.view(cfg), access: access, logger: logger, now: time.Now}
	h.feeds = feeds.NewHandler(cfg.feedsConfig(), state.source, state.hub, &feedMonitor{h: h}, access, logger)
	return h, nil
}

// route is an endpoint this handler answers.
type route int

const (
	routeNone route = iota
	routeMonitorRecords
	routeMonitorChangeset
	routeChangeset
	routeBroadcasts
)

// route finds the endpoint of a URL path, and the collection of a
// changeset.
func (c Config) route(path string) (route, kinto.Key) {
	rest, ok := strings.CutPrefix(path, c.Prefix)
	if !ok {
		return routeNone, kinto.Key{}
	}
	switch rest {
	case monitorRecordsPath:
		return routeMonitorRecords, monitorKey
	case monitorChangesetPath:
		return routeMonitorChangeset, monitorKey
	case broadcastsPath:
		return routeBroadcasts, kinto.Key{}
	}
	rest, ok = strings.CutPrefix(rest, "/buckets/")
	if !ok {
		return routeNone, kinto.Key{}
	}
	rest, ok = strings.CutSuffix(rest, "/changeset")
	if !ok {
		return routeNone, kinto.Key{}
	}
	bid, cid, ok := strings.Cut(rest, "/collections/")
	if !ok || bid == "" || cid == "" || strings.Contains(bid, "/") || strings.Contains(cid, "/") {
		return routeNone, kinto.Key{}
	}
	return routeChangeset, kinto.Key{Bucket: bid, Collection: cid}
}

// Serve answers r if it is for one of the endpoints, or hands it to the
// feeds; other requests (and CORS preflights, which the store answers) go
// to next untouched, as does everything once the store's end of service
// passed.
func (h *Handler) Serve(w http.ResponseWriter, r *http.Request, next middleware.Next) error {
	rt, k := h.cfg.route(r.URL.Path)
	if rt == routeNone {
		return h.feeds.Serve(w, r, next)
	}
	if r.Method == http.MethodOptions || h.access.EndOfService() {
		return next(w, r)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.methodNotAllowed(w, r)
		return nil
	}
	// These answer from what events built (registry, changeset cache,
	// monitor views): on a source other writers share, first have the
	// events of every write committed before this request.
	if err := h.state.sync(r.Context()); err != nil {
		h.sendError(w, r, kinto.ExposeDefault, err)
		return nil
	}
	ps := kinto.ParseParams(r.URL.RawQuery)
	switch rt {
	case routeMonitorRecords:
		h.serveRecords(w, r, ps)
	case routeMonitorChangeset:
		h.serveMonitorChangeset(w, r, ps)
	case routeChangeset:
		h.serveChangeset(w, r, k, ps)
	case routeBroadcasts:
		h.serveBroadcasts(w, r)
	}
	return nil
}

// Handles reports whether a handler of c answers r.
func (c Config) Handles(r *http.Request) bool {
	if rt, _ := c.route(r.URL.Path); rt != routeNone {
		return r.Method != http.MethodOptions
	}
	return feeds.Handles(c.Prefix, r)
}

// Shutdown ends the live feeds cleanly (continuous gets its last_seq
// line), for a config reload or a server shutdown, which wait for the
// requests in flight.
func (h *Handler) Shutdown() { h.feeds.Shutdown() }

// nowMillis is the handler's clock in epoch milliseconds.
func (h *Handler) nowMillis() int64 { return h.now().UnixMilli() }

// Interface guard
var _ middleware.Handler = (*Handler)(nil)
