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
	"github.com/changegate/changegate/kinto"
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
	// verified caches account credentials that passed bcrypt (nil
	// without the accounts feature).
	verified *verifiedCache

	// backendLog keeps a burst of storage failures to one log line.
	backendLog burstLog

	mu           sync.RWMutex
	capabilities map[string]any
	healthChecks func() []HealthCheck
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
	if cfg.Accounts != nil {
		if h.verified, err = newVerifiedCache(cfg.Accounts.CacheTTL); err != nil {
			return nil, err
		}
	}
	for _, c := range builtinCapabilities {
		if c.enabled(cfg) {
			h.AddCapability(c.name, map[string]any{"description": c.description, "url": c.url})
		}
	}
	if cfg.History != nil {
		h.AddCapability("history", historyCapability(cfg.History))
	}
	if a := cfg.Attachments; a != nil {
		h.AddCapability("attachments", map[string]any{"description": "Add file attachments to records",
			"url": "https://github.com/Kinto/kinto-attachment/", "version": "7.0.0",
			"base_url": strings.TrimSuffix(a.BaseURL, "/") + "/"})
	}
	if cfg.Accounts != nil {
		// Kinto's accounts plugin announces it validates no schema.
		h.capabilities["accounts"].(map[string]any)["validation_enabled"] = false
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
	{"accounts", "Manage user accounts.",
		"https://kinto.readthedocs.io/en/latest/api/1.x/accounts.html",
		func(c Config) bool { return c.Accounts != nil }},
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
	if a := h.cfg.Attachments; a != nil && strings.HasPrefix(r.URL.Path, a.servePath()) && r.Method != http.MethodOptions {
		h.serveAttachment(w, r)
		return
	}
	req, resp := h.readRequest(w, r)
	if resp == nil {
		resp = h.dispatch(r.Context(), req)
	}
	h.finish(req, resp)
	h.write(w, req, resp)
	countRequest(r.Method, req.path, resp.status)
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
		return req, errorResponse(kinto.NewError(http.StatusNotFound, kinto.ErrnoVersionNotAvailable,
			"The requested API version is not available on this server."))
	}
	req.path = p[len(h.cfg.Prefix):]
	if r.Body == nil || r.Method == http.MethodGet || r.Method == http.MethodHead {
		return req, nil
	}
	// A body of unknown length (chunked, as Node's http and streaming Go
	// clients send) is read like any other, up to the limit.
	limit := h.cfg.MaxBodyBytes
	if a := h.cfg.Attachments; a != nil && strings.HasSuffix(req.path, "/attachment") {
		// An upload: the file, and room for the form around it.
		limit = max(limit, a.MaxSize+1<<20)
	}
	if r.ContentLength > limit {
		return req, errorResponse(errTooLarge(limit))
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return req, errorResponse(errTooLarge(limit))
	case err != nil:
		return req, errorResponse(kinto.Invalid(kinto.ValidationDetail{Location: "body", Description: "reading the request body: " + err.Error(), Nameless: true}))
	}
	if err := h.checkBody(body, req.path == "/batch"); err != nil {
		return req, errorResponse(err)
	}
	req.body = body
	return req, nil
}

func errTooLarge(limit int64) *kinto.Error {
	return kinto.NewError(http.StatusRequestEntityTooLarge, kinto.ErrnoRequestTooLarge,
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
		return errorResponse(kinto.NewError(http.StatusGone, kinto.ErrnoServiceDeprecated,
			"The service you are trying to connect no longer exists at this location."))
	}
	if resp := redirectSlash(req, h.cfg.Prefix); resp != nil {
		return resp
	}
	rt, ok := parseRoute(req.path)
	if !ok {
		resp := errorResponse(errUnknownPath())
		resp.expose = kinto.ExposeUnknownURL
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
	case "accounts":
		return h.accountsEndpoint(ctx, req, rt.ref)
	case "history", "snapshot":
		return h.historyEndpoint(ctx, req, rt.name, rt.ref)
	case "attachment":
		resp := h.attachmentEndpoint(ctx, req, rt.ref)
		resp.expose = kinto.ExposeDefault
		return resp
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
	var ke *kinto.Error
	if errors.As(err, &ke) {
		return errorResponse(ke)
	}
	if errors.Is(err, context.Canceled) {
		return errorResponse(kinto.NewError(499, kinto.ErrnoUndefined, "client closed the request"))
	}
	var be *BackendError
	if errors.As(err, &be) {
		h.backendLog.failed(h.logger, time.Now(), req.method, req.path, be.Err)
		return errorResponse(h.backendUnavailable())
	}
	h.logger.Error("serving request", "method", req.method, "path", req.path, "error", err)
	e := kinto.AsError(err)
	e.Info = "https://github.com/changegate/changegate/issues/"
	return errorResponse(e)
}

// backendUnavailable is Kinto's answer to a storage failure: 503 errno
// 201, with Retry-After so that clients back off and come back.
func (h *Handler) backendUnavailable() *kinto.Error {
	return kinto.Backend().WithHeader("Retry-After", strconv.Itoa(h.cfg.RetryAfterSeconds))
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
	if _, err := kinto.ParsePreconditions(req.header); err != nil {
		return errorResponse(kinto.AsError(err))
	}
	return nil
}

// redirectSlash answers Kinto's trailing-slash redirects: /v1 → /v1/ and
// /v1/buckets/ → /v1/buckets, cached for an hour. Location is a relative
// reference (RFC 9110 §10.2.2): Kinto writes the request's Host into it,
// which lets one client's Host header poison what a shared cache answers
// to everyone else.
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
	ct, body := kinto.RedirectBody(req.header.Get("Accept"), target)
	resp := newResponse(http.StatusTemporaryRedirect, body)
	resp.header.Set("Content-Type", ct)
	resp.header.Set("Location", target)
	resp.header.Set("Cache-Control", "max-age=3600")
	resp.header.Set("Expires", time.Now().Add(time.Hour).UTC().Format(http.TimeFormat))
	resp.expose = kinto.ExposeUnknownURL
	return resp
}

// jsonResponse is a response with a JSON body.
func jsonResponse(status int, body []byte) *response {
	return newResponse(status, body)
}
