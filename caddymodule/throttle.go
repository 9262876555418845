package caddymodule

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/textproto"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/changegate/changegate/internal/cors"
	"github.com/changegate/changegate/ratelimit"
	"github.com/changegate/changegate/render"
)

func init() {
	caddy.RegisterModule(Throttle{})
}

// Throttle limits request rates per client (http.handlers.throttle), in
// memory or shared through Redis, and sends X-RateLimit-* and RateLimit
// headers on every response it lets through or refuses.
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

	zones      []*throttleZone
	store      ratelimit.Store
	release    func() error
	storeName  string
	format     ratelimit.Format
	kinto      render.Routes
	retryAfter time.Duration
	cors       cors.Policy
	down       *atomic.Bool // the store failed its last decision
	logger     *zap.Logger
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

// throttleZone is a provisioned zone.
type throttleZone struct {
	zone     *ratelimit.Zone
	matchers caddyhttp.MatcherSets
	keys     []keyTemplate
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

// Provision builds the zones and opens (or shares) the store.
func (t *Throttle) Provision(ctx caddy.Context) error {
	t.logger = ctx.Logger()
	t.down = new(atomic.Bool)
	if len(t.Zones) == 0 {
		return errors.New("throttle: no zone")
	}
	if err := t.provisionOptions(); err != nil {
		return err
	}
	for _, name := range slices.Sorted(maps.Keys(t.Zones)) {
		z, err := provisionZone(ctx, name, t.Zones[name])
		if err != nil {
			return err
		}
		t.zones = append(t.zones, z)
	}
	var cfg ThrottleStore
	if t.Store != nil {
		cfg = *t.Store
	}
	store, release, err := acquireThrottleStore(cfg)
	if err != nil {
		return err
	}
	t.store, t.storeName = store, cfg.name()
	if err := t.probeStore(ctx); err != nil {
		_ = release()
		return err
	}
	t.release = release
	t.reportHealth(ctx)
	return registerThrottleMetrics(ctx.GetMetricsRegistry())
}

// probeStore asks a Redis store to answer once at start: an unreachable
// Redis is a start-up error with fail_closed (every request would get
// 503) and a warning with fail_open (requests pass unlimited until it
// answers).
func (t *Throttle) probeStore(ctx caddy.Context) error {
	r, ok := t.store.(*ratelimit.Redis)
	if !ok {
		return nil
	}
	timeout := 2 * cmp.Or(time.Duration(t.Store.Timeout), 250*time.Millisecond)
	pctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := r.Probe(pctx)
	switch {
	case err == nil:
		return nil
	case t.FailClosed:
		return fmt.Errorf("throttle: store %s does not answer and fail_closed is set, so every request would get 503: %v. "+
			"Start Redis or fix the address, or use fail_open to let requests pass unlimited while it is away", t.storeName, err)
	}
	t.down.Store(true)
	t.logger.Warn("rate limit store does not answer at start; requests pass without limits until it does (fail_open)",
		zap.String("store", t.storeName), zap.Error(err))
	return nil
}

// provisionOptions checks and fills in the handler-wide options.
func (t *Throttle) provisionOptions() error {
	switch t.Format {
	case "", formatAuto:
		t.Format = formatAuto
	case formatHandleErrors:
	default:
		f, err := ratelimit.ParseFormat(t.Format)
		if err != nil {
			return fmt.Errorf("throttle: format: want auto, kinto, json, plain or handle_errors, got %q", t.Format)
		}
		t.format = f
	}
	if err := t.provisionKinto(); err != nil {
		return err
	}
	t.cors = cors.New(t.CORSOrigins)
	t.retryAfter = time.Duration(t.FailRetryAfter)
	if t.retryAfter == 0 {
		t.retryAfter = 3 * time.Second
	}
	if t.retryAfter < 0 {
		return fmt.Errorf("throttle: negative fail_retry_after %s", t.retryAfter)
	}
	return nil
}

// provisionZone builds one zone: its limits, matchers and key templates.
func provisionZone(ctx caddy.Context, name string, cfg *ThrottleZone) (*throttleZone, error) {
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
		return nil, fmt.Errorf("throttle: %w", err)
	}
	z := &throttleZone{zone: zone}
	if cfg.MatcherSetsRaw != nil {
		sets, err := ctx.LoadModule(cfg, "MatcherSetsRaw")
		if err != nil {
			return nil, fmt.Errorf("throttle: zone %s: loading matchers: %v", name, err)
		}
		if err := z.matchers.FromInterface(sets); err != nil {
			return nil, fmt.Errorf("throttle: zone %s: %v", name, err)
		}
	}
	keys := cfg.Key
	if len(keys) == 0 {
		keys = defaultKey
	}
	for i, k := range keys {
		z.keys = append(z.keys, newKeyTemplate(i, k))
	}
	return z, nil
}

// Cleanup releases this config's use of the store.
func (t *Throttle) Cleanup() error {
	if t.release == nil {
		return nil
	}
	return t.release()
}

// ServeHTTP decides the request against every zone that applies, sets
// the rate limit headers, and passes it on or refuses it.
func (t *Throttle) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if isPreflight(r) {
		// The browser sends CORS preflights on its own: counting them
		// would halve a browser client's budget, and refusing one hides
		// the real request's answer from its code.
		return next.ServeHTTP(w, r)
	}
	sc := throttleScratchPool.Get().(*throttleScratch)
	defer sc.release()
	if err := t.collect(r, sc); err != nil {
		return caddyhttp.Error(http.StatusInternalServerError, err)
	}
	if len(sc.hits) == 0 {
		return next.ServeHTTP(w, r)
	}
	d := &sc.decision
	if err := t.store.Take(r.Context(), sc.hits, d); err != nil {
		return t.storeFailed(w, r, next, err)
	}
	if t.down.Load() && t.down.CompareAndSwap(true, false) {
		t.logger.Info("rate limit store reachable again", zap.String("store", t.storeName))
	}
	ratelimit.SetHeaders(w.Header(), *d, sc.policies, !t.DisableIETFHeaders)
	if d.Allowed {
		if r.Header.Get("Origin") != "" {
			ratelimit.ExposeHeaders(w.Header())
		}
		throttleMetrics.allowed.Inc()
		return next.ServeHTTP(w, r)
	}
	throttleMetrics.limited.Inc()
	return t.reject(w, r, *d, sc.policies)
}

// throttleScratch holds one request's hits, policies and decision; it is
// pooled so that a decision allocates next to nothing.
type throttleScratch struct {
	hits     []ratelimit.Hit
	policies []*ratelimit.Policy
	decision ratelimit.Decision
}

var throttleScratchPool = sync.Pool{New: func() any { return new(throttleScratch) }}

// release empties the scratch (dropping its references) and pools it.
func (sc *throttleScratch) release() {
	clear(sc.hits)
	clear(sc.policies)
	sc.hits, sc.policies = sc.hits[:0], sc.policies[:0]
	throttleScratchPool.Put(sc)
}

// collect lists the request's hit and policy in every zone that applies.
func (t *Throttle) collect(r *http.Request, sc *throttleScratch) error {
	repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	for _, z := range t.zones {
		p := z.zone.Policy(r.Method)
		if p == nil {
			continue
		}
		if ok, err := z.matchers.AnyMatchWithError(r); err != nil || !ok {
			if err != nil {
				return fmt.Errorf("throttle: zone %s: matching: %w", z.zone.Name(), err)
			}
			continue
		}
		tag, client := z.clientKey(r, repl)
		sc.hits = append(sc.hits, p.Hit(tag, client))
		sc.policies = append(sc.policies, p)
	}
	return nil
}

// reject answers a refused request.
func (t *Throttle) reject(w http.ResponseWriter, r *http.Request, d ratelimit.Decision, policies []*ratelimit.Policy) error {
	zone := policies[d.Tightest()].Name
	if c := t.logger.Check(zap.DebugLevel, "rate limit exceeded"); c != nil {
		c.Write(zap.String("zone", zone), zap.Duration("retry_after", d.RetryAfter()),
			zap.Any("client_ip", caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey)))
	}
	if t.Format == formatHandleErrors {
		ratelimit.SetRetryAfter(w.Header(), d.RetryAfter())
		if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
			repl.Set("http.throttle.zone", zone)
			repl.Set("http.throttle.retry_after", w.Header().Get("Retry-After"))
		}
		return caddyhttp.Error(http.StatusTooManyRequests, fmt.Errorf("rate limit exceeded in zone %s", zone))
	}
	ratelimit.Reject(w, r, t.formatFor(r), t.cors, d, policies)
	return nil
}

// storeFailed applies the failure policy when the store cannot decide.
func (t *Throttle) storeFailed(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, err error) error {
	if r.Context().Err() == nil && t.down.CompareAndSwap(false, true) {
		t.logger.Error("rate limit store unreachable",
			zap.String("store", t.storeName), zap.Bool("fail_closed", t.FailClosed), zap.Error(err))
	}
	if !t.FailClosed {
		throttleMetrics.failedOpen.Inc()
		return next.ServeHTTP(w, r)
	}
	throttleMetrics.failedClosed.Inc()
	if t.Format == formatHandleErrors {
		ratelimit.SetRetryAfter(w.Header(), t.retryAfter)
		return caddyhttp.Error(http.StatusServiceUnavailable, err)
	}
	ratelimit.Unavailable(w, r, t.formatFor(r), t.cors, t.retryAfter)
	return nil
}

// provisionKinto checks the Kinto prefixes; a trailing slash is dropped so
// that "/v1/" also covers "/v1" itself.
func (t *Throttle) provisionKinto() error {
	for _, p := range t.prefixes() {
		if !strings.HasPrefix(p, "/") {
			return fmt.Errorf("throttle: kinto_prefix %q must start with /", p)
		}
	}
	if err := t.KintoRoutes.validate(); err != nil {
		return fmt.Errorf("throttle: %w", err)
	}
	t.kinto = t.routes()
	t.kinto.Prefixes = slices.Clone(t.kinto.Prefixes)
	for i, p := range t.kinto.Prefixes {
		if p != "/" {
			t.kinto.Prefixes[i] = strings.TrimSuffix(p, "/")
		}
	}
	return nil
}

// formatFor is the body format of a refusal of r.
func (t *Throttle) formatFor(r *http.Request) ratelimit.Format {
	if t.Format != formatAuto {
		return t.format
	}
	if t.kinto.Kinto(r.URL.Path) {
		return ratelimit.FormatKinto
	}
	return ratelimit.FormatJSON
}

// isPreflight tells a CORS preflight request (Fetch standard §3.2.2).
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" &&
		r.Header.Get("Access-Control-Request-Method") != ""
}

// keyTemplate is one template of a zone's key.
type keyTemplate struct {
	tag         string // "<index>:", so that templates never collide
	text        string
	placeholder string // set when text is exactly one placeholder
	variable    string // set when that placeholder is {http.vars.<variable>}
	header      string // set when it is {http.request.header.<header>}
}

func newKeyTemplate(i int, text string) keyTemplate {
	k := keyTemplate{tag: strconv.Itoa(i) + ":", text: text}
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

// expand fills the template in, ok false when a placeholder is empty.
func (k keyTemplate) expand(r *http.Request, repl *caddy.Replacer) (string, bool) {
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

// clientKey is the first template that expands fully, with its tag; one
// key for all ("-") when none does.
func (z *throttleZone) clientKey(r *http.Request, repl *caddy.Replacer) (tag, client string) {
	if repl != nil {
		for _, k := range z.keys {
			if s, ok := k.expand(r, repl); ok {
				return k.tag, s
			}
		}
	}
	return "", "-"
}

// ThrottleStore selects where the budgets live.
type ThrottleStore struct {
	// Type is "memory" (the default) or "redis".
	Type string `json:"type,omitempty"`
	// MaxKeys bounds the memory store. Default: 100000 keys, about 50
	// bytes each. The memory store is one per process, shared by every
	// throttle handler; its capacity is the largest MaxKeys among them.
	MaxKeys int `json:"max_keys,omitempty"`
	// Address is the Redis server: host:port, or a redis:// or rediss://
	// URL. Placeholders such as {env.REDIS_URL} are expanded.
	Address string `json:"address,omitempty"`
	// Username, Password and DB override those of the address.
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	DB       int    `json:"db,omitempty"`
	// Prefix goes in front of every Redis key. Default:
	// "changegate:throttle:".
	Prefix string `json:"prefix,omitempty"`
	// Timeout bounds dialing, reading and writing. Default: 250ms.
	Timeout caddy.Duration `json:"timeout,omitempty"`
	// Pipeline sends the scripts of concurrent requests to Redis in
	// shared writes (go-redis autopipelining, experimental upstream):
	// more throughput under load, a little more latency when idle.
	Pipeline bool `json:"pipeline,omitempty"`
}

// Store defaults.
const (
	defaultMaxKeys     = 100_000
	defaultRedisPrefix = "changegate:throttle:"
)

// name is how logs name the store (without credentials).
func (c ThrottleStore) name() string {
	if c.Type != "redis" {
		return "memory"
	}
	if u, err := url.Parse(c.Address); err == nil && u.Host != "" {
		return "redis " + u.Host
	}
	return "redis " + c.Address
}

// throttleStores holds the stores, shared by every config that uses the
// same one, so that budgets survive config reloads (the new config is
// provisioned before the old one is cleaned up) and Redis connections are
// reused.
var throttleStores = caddy.NewUsagePool()

// acquireThrottleStore returns the shared store for c and the function
// that releases this use of it.
func acquireThrottleStore(c ThrottleStore) (ratelimit.Store, func() error, error) {
	switch c.Type {
	case "", "memory":
		if c.Address != "" || c.Username != "" || c.Password != "" || c.DB != 0 || c.Prefix != "" || c.Timeout != 0 || c.Pipeline {
			return nil, nil, errors.New("throttle: address, username, password, db, prefix, timeout and pipeline are options of the redis store")
		}
		return acquireMemoryStore(cmp.Or(c.MaxKeys, defaultMaxKeys))
	case "redis":
		if c.MaxKeys != 0 {
			return nil, nil, errors.New("throttle: max_keys is an option of the memory store")
		}
		return acquireRedisStore(c)
	}
	return nil, nil, fmt.Errorf("throttle: unknown store %q (want memory or redis)", c.Type)
}

// sharedMemory is the process's memory store with the capacities its
// users asked for.
type sharedMemory struct {
	*ratelimit.Memory
	mu   sync.Mutex
	caps map[int]int // capacity asked for -> number of users
}

// Destruct lets the pool drop the store; it holds nothing to close.
func (*sharedMemory) Destruct() error { return nil }

// use counts a user's capacity in (delta 1) or out (delta -1) and sizes
// the store to the largest one left.
func (m *sharedMemory) use(maxKeys, delta int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.caps[maxKeys] += delta; m.caps[maxKeys] <= 0 {
		delete(m.caps, maxKeys)
	}
	if len(m.caps) > 0 {
		m.Resize(slices.Max(slices.Collect(maps.Keys(m.caps))))
	}
}

func acquireMemoryStore(maxKeys int) (ratelimit.Store, func() error, error) {
	if maxKeys < 1 {
		return nil, nil, fmt.Errorf("throttle: max_keys must be at least 1, got %d", maxKeys)
	}
	v, _, err := throttleStores.LoadOrNew("memory", func() (caddy.Destructor, error) {
		return &sharedMemory{Memory: ratelimit.NewMemory(maxKeys, ratelimit.SystemClock{}), caps: map[int]int{}}, nil
	})
	if err != nil {
		return nil, nil, err
	}
	m := v.(*sharedMemory)
	m.use(maxKeys, 1)
	return m, func() error {
		m.use(maxKeys, -1)
		_, err := throttleStores.Delete("memory")
		return err
	}, nil
}

// redisClient is a pooled Redis connection pool.
type redisClient struct{ *redis.Client }

// Destruct closes the connections once no config uses them.
func (c redisClient) Destruct() error { return c.Close() }

func acquireRedisStore(c ThrottleStore) (ratelimit.Store, func() error, error) {
	repl := caddy.NewReplacer()
	cfg := ratelimit.RedisConfig{
		Address:  repl.ReplaceAll(c.Address, ""),
		Username: repl.ReplaceAll(c.Username, ""),
		Password: repl.ReplaceAll(c.Password, ""),
		DB:       c.DB,
		Timeout:  time.Duration(c.Timeout),
	}
	if cfg.Address == "" {
		return nil, nil, errors.New("throttle: the redis store needs an address")
	}
	if err := ratelimit.CheckRedisAddress(cfg.Address); err != nil {
		return nil, nil, fmt.Errorf("throttle: store redis: %v", err)
	}
	key := fmt.Sprintf("redis\x00%s\x00%s\x00%s\x00%d\x00%s", cfg.Address, cfg.Username, cfg.Password, cfg.DB, cfg.Timeout)
	v, _, err := throttleStores.LoadOrNew(key, func() (caddy.Destructor, error) {
		client, err := ratelimit.NewRedisClient(cfg)
		return redisClient{client}, err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("throttle: connecting to redis %s: %v", c.name(), err)
	}
	release := func() error {
		_, err := throttleStores.Delete(key)
		return err
	}
	var scripter redis.Scripter = v.(redisClient).Client
	if c.Pipeline {
		// The client keeps one autopipeliner and closes it with itself.
		if scripter, err = v.(redisClient).AutoPipeline(); err != nil {
			_ = release()
			return nil, nil, fmt.Errorf("throttle: pipelining to redis %s: %v", c.name(), err)
		}
	}
	store := ratelimit.NewRedis(scripter, cmp.Or(c.Prefix, defaultRedisPrefix), nil)
	return store, release, nil
}

// throttleMetrics counts decisions in changegate_throttle_requests_total
// by result: allowed, limited, failed_open, failed_closed. The counters
// are process-wide and registered in every config's registry, so they
// keep counting across reloads.
var throttleMetrics struct {
	once                                       sync.Once
	requests                                   *prometheus.CounterVec
	allowed, limited, failedOpen, failedClosed prometheus.Counter
}

func registerThrottleMetrics(reg *prometheus.Registry) error {
	m := &throttleMetrics
	m.once.Do(func() {
		m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "changegate",
			Subsystem: "throttle",
			Name:      "requests_total",
			Help:      "Requests decided by throttle, by result: allowed, limited, failed_open, failed_closed.",
		}, []string{"result"})
		m.allowed = m.requests.WithLabelValues("allowed")
		m.limited = m.requests.WithLabelValues("limited")
		m.failedOpen = m.requests.WithLabelValues("failed_open")
		m.failedClosed = m.requests.WithLabelValues("failed_closed")
	})
	if reg == nil {
		return nil
	}
	// Several throttle handlers register the same collector in one
	// config's registry; the first registration is the one that counts.
	if err := reg.Register(m.requests); err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
		return fmt.Errorf("throttle: registering metrics: %v", err)
	}
	return nil
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Throttle)(nil)
	_ caddy.CleanerUpper          = (*Throttle)(nil)
	_ caddyhttp.MiddlewareHandler = (*Throttle)(nil)
)
