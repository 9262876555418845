package docstore

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/changegate/changegate/internal/cors"
)

// basicIDCacheSize bounds the basicauth id cache.
const basicIDCacheSize = 10000

// Handler serves Kinto's HTTP API 1.x from a Store.
type Handler struct {
	store  *Store
	cfg    Config
	eos    time.Time
	logger *slog.Logger
	cors   cors.Policy

	nonces nonceCache
	// basicIDs remembers the user ids of recent basicauth credentials:
	// an HMAC per request is a measurable share of a record GET.
	basicIDs *lru.Cache[string, string]

	mu           sync.RWMutex
	capabilities map[string]any
}

// NewHandler returns the API handler for store.
func NewHandler(store *Store, cfg Config, logger *slog.Logger) (*Handler, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	basicIDs, err := lru.New[string, string](basicIDCacheSize)
	if err != nil {
		return nil, err
	}
	h := &Handler{store: store, cfg: cfg, logger: logger, capabilities: map[string]any{}, basicIDs: basicIDs, cors: cors.New(cfg.CORSOrigins)}
	if cfg.EOS != "" {
		eos, err := time.Parse(time.DateOnly, cfg.EOS)
		if err != nil {
			return nil, errors.New("parsing eos date: want YYYY-MM-DD, got " + strconv.Quote(cfg.EOS))
		}
		h.eos = eos
	}
	if logger == nil {
		h.logger = slog.New(slog.DiscardHandler)
	}
	for _, c := range builtinCapabilities {
		if c.enabled(cfg) {
			h.AddCapability(c.name, map[string]any{"description": c.description, "url": c.url})
		}
	}
	return h, nil
}

// builtinCapabilities are the capabilities of the docstore's own optional
// features, worded as Kinto lists them at GET /v1/.
var builtinCapabilities = []struct {
	name, description, url string
	enabled                func(Config) bool
}{
	{"basicauth", "Very basic authentication sessions. Not for production use.",
		"http://kinto.readthedocs.io/en/stable/api/1.x/authentication.html",
		func(c Config) bool { return c.BasicAuth }},
	{"default_bucket", "The default bucket is an alias for a personal bucket where collections are created implicitly.",
		"https://kinto.readthedocs.io/en/latest/api/1.x/buckets.html#personal-bucket-default",
		func(c Config) bool { return c.DefaultBucket }},
	{"permissions_endpoint", "The permissions endpoint can be used to list all user objects permissions.",
		"https://kinto.readthedocs.io/en/latest/configuration/settings.html#activating-the-permissions-endpoint",
		func(c Config) bool { return c.PermissionsEndpoint }},
	{"flush_endpoint", "The __flush__ endpoint can be used to remove all data from all backends.",
		"https://kinto.readthedocs.io/en/latest/api/1.x/flush.html",
		func(c Config) bool { return c.FlushEnabled }},
}

// Store returns the store the handler serves.
func (h *Handler) Store() *Store { return h.store }

// AddCapability lists a capability at GET /v1/ (other modules, such as
// `changes`, announce themselves here).
func (h *Handler) AddCapability(name string, value map[string]any) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.capabilities[name] = value
}

// ServeHTTP answers one HTTP request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, resp := h.readRequest(w, r)
	if resp == nil {
		resp = h.dispatch(r.Context(), req)
	}
	h.finish(req, resp)
	h.write(w, req, resp)
}

// readRequest turns an HTTP request into an API request, reading the body
// within the configured limit.
func (h *Handler) readRequest(w http.ResponseWriter, r *http.Request) (*request, *response) {
	req := &request{
		method: r.Method,
		query:  r.URL.Query(),
		header: r.Header,
		origin: requestOrigin(r),
		userID: h.authenticate(r),
	}
	p := r.URL.Path
	if !strings.HasPrefix(p, h.cfg.Prefix) || (len(p) > len(h.cfg.Prefix) && p[len(h.cfg.Prefix)] != '/') {
		return req, errorResponse(NewError(http.StatusNotFound, ErrnoVersionNotAvailable,
			"The requested API version is not available on this server."))
	}
	req.path = p[len(h.cfg.Prefix):]
	if r.Body == nil || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return req, nil
	}
	if r.ContentLength < 0 {
		// A body of unknown length (chunked): Kinto wants the length up
		// front so that it can refuse oversized bodies before reading.
		return req, errorResponse(NewError(http.StatusLengthRequired, ErrnoMissingContentLength,
			"Content-Length header was not provided"))
	}
	if r.ContentLength > h.cfg.MaxBodyBytes {
		return req, errorResponse(errTooLarge(h.cfg.MaxBodyBytes))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return req, errorResponse(errTooLarge(h.cfg.MaxBodyBytes))
	case err != nil:
		return req, errorResponse(Invalid(ValidationDetail{Location: "body", Description: "reading the request body: " + err.Error(), Nameless: true}))
	}
	req.body = body
	return req, nil
}

func errTooLarge(limit int64) *Error {
	return NewError(http.StatusRequestEntityTooLarge, ErrnoRequestTooLarge,
		"Request body too large (limit "+strconv.FormatInt(limit, 10)+" bytes).")
}

// requestOrigin is scheme://host of the request as the client sent it.
func requestOrigin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// dispatch routes an API request. Batch sub-requests go through
// serveResource directly, inside the batch's transaction.
func (h *Handler) dispatch(ctx context.Context, req *request) *response {
	if req.method == http.MethodOptions {
		return h.preflight(req)
	}
	if h.EndOfService() {
		return errorResponse(NewError(http.StatusGone, ErrnoServiceDeprecated,
			"The service you are trying to connect no longer exists at this location."))
	}
	if resp := redirectSlash(req, h.cfg.Prefix); resp != nil {
		return resp
	}
	rt, ok := parseRoute(req.path)
	if !ok {
		resp := errorResponse(errUnknownPath())
		resp.expose = exposeUnknownURL
		return resp
	}
	switch rt.name {
	case "root":
		id, err := h.identityOf(ctx, req.userID)
		if err != nil {
			return h.internalError(req, err)
		}
		return h.onlyGet(req, func(req *request) *response { return h.serverInfo(req, id) })
	case "heartbeat":
		return h.onlyGet(req, func(*request) *response { return h.heartbeat(ctx) })
	case "lbheartbeat":
		return h.onlyGet(req, func(*request) *response { return jsonResponse(http.StatusOK, []byte("{}")) })
	case "version":
		return h.onlyGet(req, h.version)
	case "flush":
		return h.flush(ctx, req)
	case "batch":
		return h.batch(ctx, req)
	case "permissions":
		return h.permissionsList(ctx, req)
	}
	return h.resource(ctx, req, rt.ref)
}

// onlyGet serves GET (and HEAD) with fn and refuses other methods.
func (h *Handler) onlyGet(req *request, fn func(*request) *response) *response {
	if !req.isRead() {
		return errorResponse(errMethodNotAllowed("GET, HEAD, OPTIONS"))
	}
	return fn(req)
}

// resource serves an object or list endpoint in its own transaction.
func (h *Handler) resource(ctx context.Context, req *request, r ref) *response {
	var resp *response
	run := h.store.read
	if !req.isRead() {
		run = h.store.write
	}
	err := run(ctx, func(o *op) error {
		var err error
		resp, err = h.serveResource(o, req, r)
		return err
	})
	if err != nil {
		return h.internalError(req, err)
	}
	return resp
}

// internalError logs err and renders it as Kinto's 500 (or the Kinto
// error it carries).
func (h *Handler) internalError(req *request, err error) *response {
	var ke *Error
	if errors.As(err, &ke) {
		return errorResponse(ke)
	}
	if errors.Is(err, context.Canceled) {
		return errorResponse(NewError(499, ErrnoUndefined, "client closed the request"))
	}
	h.logger.Error("serving request", "method", req.method, "path", req.path, "error", err)
	e := AsError(err)
	e.Info = "https://github.com/changegate/changegate/issues/"
	return errorResponse(e)
}

// checkRequest refuses, before anything is read, what the endpoint
// cannot accept: the method, the Accept and Content-Type headers, and
// malformed preconditions.
func (h *Handler) checkRequest(req *request, r ref) *response {
	allowed := "DELETE, GET, HEAD, OPTIONS, PATCH, PUT"
	if r.plural() {
		allowed = "DELETE, GET, HEAD, OPTIONS, POST"
	}
	if !slices.Contains(strings.Split(allowed, ", "), req.method) || (h.cfg.Readonly && !req.isRead()) {
		return errorResponse(errMethodNotAllowed(allowed))
	}
	if err := checkAccept(req.header); err != nil {
		return errorResponse(err)
	}
	if err := checkContentType(req); err != nil {
		return errorResponse(err)
	}
	if _, err := parsePreconditions(req.header); err != nil {
		return errorResponse(AsError(err))
	}
	return nil
}

// redirectSlash answers Kinto's trailing-slash redirects: /v1 → /v1/ and
// /v1/buckets/ → /v1/buckets, cached for an hour.
func redirectSlash(req *request, prefix string) *response {
	var target string
	switch {
	case req.path == "":
		target = prefix + "/"
	case req.path != "/" && strings.HasSuffix(req.path, "/"):
		target = prefix + strings.TrimRight(req.path, "/")
	default:
		return nil
	}
	if q := req.query.Encode(); q != "" {
		target += "?" + q
	}
	resp := newResponse(http.StatusTemporaryRedirect, nil)
	resp.header.Set("Location", req.origin+target)
	resp.header.Set("Cache-Control", "max-age=3600")
	resp.header.Set("Expires", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
	resp.expose = exposeUnknownURL
	return resp
}

// jsonResponse is a response with a JSON body.
func jsonResponse(status int, body []byte) *response {
	return newResponse(status, body)
}
