package caddymodule

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/textproto"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/changegate/changegate/internal/cors"
	"github.com/changegate/changegate/ratelimit"
	"github.com/changegate/changegate/render"
)

func init() {
	caddy.RegisterModule(Throttle{})
}

// Throttle limits request rates per client (http.handlers.throttle), in
// memory or shared through Redis, and sends X-RateLimit-* and RateLimit
// headers on every response it lets through or refuses. The request
// flow is ratelimit.Middleware; this module reads the config, turns the
// key templates and matchers into its rules, and shares the stores.
type Throttle struct {
	// Zones are the limits, by name. Several zones may apply to one
	// request: it passes only if all have an event left, and the tightest
	// answers the headers. Zone names are global: throttle handlers that
	// declare the same zone name share its budgets (and, on Redis, so do
	// instances that use the same prefix).
	Zones map[string]*ThrottleZone `json:"zones,omitempty"`
	// Store keeps the budgets. Default: memory, 100000 keys.
	Store *ThrottleStore `json:"store,omitempty"`
	// FailClosed answers 503 with Retry-After when the store cannot
	// decide (Redis unreachable). By default requests then pass without
	// rate limit headers (fail open); either way it is logged once per
	// outage and counted in changegate_throttle_requests_total.
	FailClosed bool `json:"fail_closed,omitempty"`
	// FailRetryAfter is the Retry-After of those 503s. Default: 3s.
	FailRetryAfter caddy.Duration `json:"fail_retry_after,omitempty"`
	// Format is the body of 429 and 503 answers: "kinto" (Kinto's error
	// JSON, errno 117 or 201), "json" (RFC 9457 problem details), "plain",
	// or "handle_errors" (return the error to the server's handle_errors
	// routes; the headers, Retry-After included, are already set). The
	// default, "auto", is kinto on Kinto routes and json elsewhere.
	Format string `json:"format,omitempty"`
	// KintoRoutes say where the Kinto API lives, for Format "auto".
	// Default: /v1.
	KintoRoutes
	// CORSOrigins are the origins that may read Kinto-format refusals
	// with credentials; keep it equal to the docstore's cors_origins.
	// Default: any origin, without credentials.
	CORSOrigins []string `json:"cors_origins,omitempty"`
	// DisableIETFHeaders leaves out RateLimit-Policy and RateLimit
	// (draft-ietf-httpapi-ratelimit-headers), keeping X-RateLimit-*.
	DisableIETFHeaders bool `json:"disable_ietf_headers,omitempty"`

	mw      *ratelimit.Middleware
	release func() error
}

// ThrottleZone is one named limit.
type ThrottleZone struct {
	// MatcherSetsRaw scopes the zone to the requests that match; all
	// requests by default.
	MatcherSetsRaw caddyhttp.RawMatcherSets `json:"match,omitempty" caddy:"namespace=http.matchers"`
	// Key lists templates of Caddy placeholders that identify a client:
	// the first whose placeholders are all non-empty wins. Default:
	// ["{http.auth.user.id}", "{http.vars.client_ip}"], the authenticated
	// user, else the client IP as Caddy resolves it with trusted proxies.
	Key []string `json:"key,omitempty"`
	// Events per Window is the zone's default limit. Without it, only the
	// methods in Methods are limited by the zone.
	Events int64          `json:"events,omitempty"`
	Window caddy.Duration `json:"window,omitempty"`
	// Methods are per-method limits (Eve's RATE_LIMIT_GET, _POST...), by
	// upper-case method name. Each has a budget of its own per client.
	Methods map[string]ThrottleLimit `json:"methods,omitempty"`
}

// ThrottleLimit is Events per Window; the window is whole seconds.
type ThrottleLimit struct {
	Events int64          `json:"events"`
	Window caddy.Duration `json:"window"`
}

// The formats beyond the domain's.
const (
	formatAuto         = "auto"
	formatHandleErrors = "handle_errors"
)

// defaultKey identifies a client by its authenticated user id, else its IP.
var defaultKey = []string{"{http.auth.user.id}", "{http.vars.client_ip}"}

// CaddyModule returns the Caddy module information.
func (Throttle) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.throttle",
		New: func() caddy.Module { return new(Throttle) },
	}
}

// Provision builds the middleware and opens (or shares) the store.
func (t *Throttle) Provision(ctx caddy.Context) error {
	if len(t.Zones) == 0 {
		return errors.New("throttle: no zone")
	}
	mw := &ratelimit.Middleware{
		FailClosed:  t.FailClosed,
		IETFHeaders: !t.DisableIETFHeaders,
		CORS:        cors.New(t.CORSOrigins),
		Logger:      ctx.Logger(),
		ClientIP:    clientIP,
	}
	if err := t.provisionOptions(mw); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(t.Zones)) {
		rule, err := provisionZone(ctx, name, t.Zones[name])
		if err != nil {
			return err
		}
		mw.Rules = append(mw.Rules, rule)
	}
	var cfg ThrottleStore
	if t.Store != nil {
		cfg = *t.Store
	}
	store, release, err := acquireThrottleStore(cfg)
	if err != nil {
		return err
	}
	mw.Store, mw.StoreName = store, cfg.name()
	// An unreachable Redis is a start-up error with fail_closed, a
	// warning with fail_open.
	pctx, cancel := context.WithTimeout(ctx, 2*cmp.Or(time.Duration(cfg.Timeout), 250*time.Millisecond))
	defer cancel()
	if err := mw.Probe(pctx); err != nil {
		_ = release()
		return fmt.Errorf("throttle: %w", err)
	}
	t.mw, t.release = mw, release
	t.reportHealth(ctx)
	return ratelimit.RegisterMetrics(ctx.GetMetricsRegistry())
}

// provisionOptions checks the handler-wide options and sets them on mw.
func (t *Throttle) provisionOptions(mw *ratelimit.Middleware) error {
	if t.Format == formatHandleErrors {
		mw.Handoff = handOffRefusal
	} else {
		f, err := ratelimit.ParseFormat(cmp.Or(t.Format, formatAuto))
		if err != nil {
			return fmt.Errorf("throttle: format: want auto, kinto, json, plain or handle_errors, got %q", t.Format)
		}
		mw.Format = f
	}
	kinto, err := t.provisionKinto()
	if err != nil {
		return err
	}
	mw.Kinto = kinto.Kinto
	mw.FailRetryAfter = cmp.Or(time.Duration(t.FailRetryAfter), 3*time.Second)
	if mw.FailRetryAfter < 0 {
		return fmt.Errorf("throttle: negative fail_retry_after %s", mw.FailRetryAfter)
	}
	return nil
}

// provisionZone builds one zone's rule: its limits, matchers and keys.
func provisionZone(ctx caddy.Context, name string, cfg *ThrottleZone) (ratelimit.Rule, error) {
	var def *ratelimit.Limit
	if cfg.Events != 0 || cfg.Window != 0 {
		def = &ratelimit.Limit{Events: cfg.Events, Window: time.Duration(cfg.Window)}
	}
	methods := make(map[string]ratelimit.Limit, len(cfg.Methods))
	for m, l := range cfg.Methods {
		methods[m] = ratelimit.Limit{Events: l.Events, Window: time.Duration(l.Window)}
	}
	zone, err := ratelimit.NewZone(name, def, methods)
	if err != nil {
		return ratelimit.Rule{}, fmt.Errorf("throttle: %w", err)
	}
	rule := ratelimit.Rule{Zone: zone}
	if cfg.MatcherSetsRaw != nil {
		sets, err := ctx.LoadModule(cfg, "MatcherSetsRaw")
		if err != nil {
			return rule, fmt.Errorf("throttle: zone %s: loading matchers: %v", name, err)
		}
		var matchers caddyhttp.MatcherSets
		if err := matchers.FromInterface(sets); err != nil {
			return rule, fmt.Errorf("throttle: zone %s: %v", name, err)
		}
		rule.Match = matchers.AnyMatchWithError
	}
	keys := cfg.Key
	if len(keys) == 0 {
		keys = defaultKey
	}
	for _, k := range keys {
		rule.Keys = append(rule.Keys, newKeyTemplate(k).key)
	}
	return rule, nil
}

// Cleanup releases this config's use of the store.
func (t *Throttle) Cleanup() error {
	if t.release == nil {
		return nil
	}
	return t.release()
}

// ServeHTTP is the middleware's.
func (t *Throttle) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	return t.mw.Serve(w, r, next.ServeHTTP)
}

// handOffRefusal returns a refusal to the server's handle_errors routes,
// with the zone and Retry-After in placeholders.
func handOffRefusal(w http.ResponseWriter, r *http.Request, rf ratelimit.Refusal) error {
	if rf.Status == http.StatusTooManyRequests {
		if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
			repl.Set("http.throttle.zone", rf.Zone)
			repl.Set("http.throttle.retry_after", w.Header().Get("Retry-After"))
		}
	}
	return caddyhttp.Error(rf.Status, rf.Err)
}

// clientIP is the client address as Caddy resolves it with trusted
// proxies.
func clientIP(r *http.Request) string {
	return caddy.ToString(caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey))
}

// provisionKinto checks the Kinto prefixes; a trailing slash is dropped so
// that "/v1/" also covers "/v1" itself.
func (t *Throttle) provisionKinto() (render.Routes, error) {
	for _, p := range t.prefixes() {
		if !strings.HasPrefix(p, "/") {
			return render.Routes{}, fmt.Errorf("throttle: kinto_prefix %q must start with /", p)
		}
	}
	if err := t.KintoRoutes.validate(); err != nil {
		return render.Routes{}, fmt.Errorf("throttle: %w", err)
	}
	kinto := t.routes()
	kinto.Prefixes = slices.Clone(kinto.Prefixes)
	for i, p := range kinto.Prefixes {
		if p != "/" {
			kinto.Prefixes[i] = strings.TrimSuffix(p, "/")
		}
	}
	return kinto, nil
}

// keyTemplate is one template of a zone's key.
type keyTemplate struct {
	text        string
	placeholder string // set when text is exactly one placeholder
	variable    string // set when that placeholder is {http.vars.<variable>}
	header      string // set when it is {http.request.header.<header>}
}

func newKeyTemplate(text string) keyTemplate {
	k := keyTemplate{text: text}
	if name, ok := strings.CutPrefix(text, "{"); ok && strings.HasSuffix(name, "}") && !strings.ContainsAny(name[:len(name)-1], "{}") {
		k.placeholder = name[:len(name)-1]
		if v, ok := strings.CutPrefix(k.placeholder, "http.vars."); ok {
			k.variable = v
		}
		if h, ok := strings.CutPrefix(k.placeholder, "http.request.header."); ok {
			k.header = textproto.CanonicalMIMEHeaderKey(h)
		}
	}
	return k
}

// errEmptyPlaceholder stops the expansion of a template with an empty
// placeholder.
var errEmptyPlaceholder = errors.New("empty placeholder")

// key fills the template in, ok false when a placeholder is empty or the
// request has no replacer.
func (k keyTemplate) key(r *http.Request) (string, bool) {
	repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return "", false
	}
	if k.placeholder != "" {
		// Variables and request headers are read as the replacer would,
		// without trying its other providers first.
		var v any
		switch {
		case k.variable != "":
			v = caddyhttp.GetVar(r.Context(), k.variable)
		case k.header != "":
			v = strings.Join(r.Header[k.header], ",")
		default:
			v, _ = repl.Get(k.placeholder)
		}
		s := caddy.ToString(v)
		return s, s != ""
	}
	s, err := repl.ReplaceFunc(k.text, func(_ string, v any) (any, error) {
		if caddy.ToString(v) == "" {
			return nil, errEmptyPlaceholder
		}
		return v, nil
	})
	return s, err == nil
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Throttle)(nil)
	_ caddy.CleanerUpper          = (*Throttle)(nil)
	_ caddyhttp.MiddlewareHandler = (*Throttle)(nil)
)
