package ratelimit

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"go.uber.org/zap"

	"github.com/changegate/changegate/internal/cors"
	"github.com/changegate/changegate/internal/middleware"
)

// Middleware limits request rates: it decides every request against the
// rules that apply, sets the rate limit headers, and passes the request
// on or refuses it. Set the fields, then serve; it must not be copied.
type Middleware struct {
	// Rules are the zones with their scope and client key.
	Rules []Rule
	// Store keeps the budgets; StoreName names it in logs.
	Store     Store
	StoreName string
	// FailClosed answers 503 with Retry-After FailRetryAfter when the
	// store cannot decide; otherwise requests then pass without rate
	// limit headers (fail open). Either way the outage is logged once.
	FailClosed     bool
	FailRetryAfter time.Duration
	// Format is the body of refusals; with FormatAuto, Kinto tells the
	// paths answered in FormatKinto (the others get FormatJSON).
	Format Format
	Kinto  func(path string) bool
	// CORS gives the origin fields of Kinto-format refusals.
	CORS cors.Policy
	// IETFHeaders adds RateLimit-Policy and RateLimit to X-RateLimit-*.
	IETFHeaders bool
	// Handoff, when set, is called instead of writing a refusal's body:
	// the headers, Retry-After included, are already set, and its error
	// is returned (package caddymodule hands the refusal to Caddy's
	// handle_errors routes).
	Handoff func(w http.ResponseWriter, r *http.Request, rf Refusal) error
	// Logger gets the outages and, at debug level, the refusals; nil
	// logs nothing.
	Logger *zap.Logger
	// ClientIP, when set, names the client in the debug log of a refusal.
	ClientIP func(*http.Request) string

	down atomic.Bool // the store failed its last decision
}

// Rule is a zone, the requests it applies to, and how it tells clients
// apart.
type Rule struct {
	Zone *Zone
	// Match scopes the zone; nil applies it to every request.
	Match func(*http.Request) (bool, error)
	// Keys identify a client: the first that answers ok wins, and keys
	// from different entries never collide. When none answers, all
	// clients share one budget.
	Keys []func(*http.Request) (key string, ok bool)
}

// Refusal is a request the middleware does not pass on: 429 when a zone
// has no event left, 503 when the store cannot decide and the middleware
// fails closed.
type Refusal struct {
	Status int
	// Zone is the refusing zone of a 429.
	Zone string
	Err  error
}

var _ middleware.Handler = (*Middleware)(nil)

// Probe asks a Redis store to answer once, at start: an unreachable
// Redis is an error when the middleware fails closed (every request
// would get 503) and a warning when it fails open (requests pass
// unlimited until it answers). Other stores always answer.
func (m *Middleware) Probe(ctx context.Context) error {
	r, ok := m.Store.(*Redis)
	if !ok {
		return nil
	}
	err := r.Probe(ctx)
	switch {
	case err == nil:
		return nil
	case m.FailClosed:
		return fmt.Errorf("store %s does not answer and fail_closed is set, so every request would get 503: %v. "+
			"Start Redis or fix the address, or use fail_open to let requests pass unlimited while it is away", m.StoreName, err)
	}
	m.down.Store(true)
	m.logger().Warn("rate limit store does not answer at start; requests pass without limits until it does (fail_open)",
		zap.String("store", m.StoreName), zap.Error(err))
	return nil
}

// Serve decides the request against every rule that applies, sets the
// rate limit headers, and passes it on or refuses it.
func (m *Middleware) Serve(w http.ResponseWriter, r *http.Request, next middleware.Next) error {
	if isPreflight(r) {
		// The browser sends CORS preflights on its own: counting them
		// would halve a browser client's budget, and refusing one hides
		// the real request's answer from its code.
		return next(w, r)
	}
	sc := scratchPool.Get().(*scratch)
	defer sc.release()
	if err := m.collect(r, sc); err != nil {
		return err
	}
	if len(sc.hits) == 0 {
		return next(w, r)
	}
	d := &sc.decision
	if err := m.Store.Take(r.Context(), sc.hits, d); err != nil {
		return m.storeFailed(w, r, next, err)
	}
	if m.down.Load() && m.down.CompareAndSwap(true, false) {
		m.logger().Info("rate limit store reachable again", zap.String("store", m.StoreName))
	}
	SetHeaders(w.Header(), *d, sc.policies, m.IETFHeaders)
	if d.Allowed {
		if r.Header.Get("Origin") != "" {
			ExposeHeaders(w.Header())
		}
		metrics.allowed.Inc()
		return next(w, r)
	}
	metrics.limited.Inc()
	return m.reject(w, r, *d, sc.policies)
}

// scratch holds one request's hits, policies and decision; it is pooled
// so that a decision allocates next to nothing.
type scratch struct {
	hits     []Hit
	policies []*Policy
	decision Decision
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// release empties the scratch (dropping its references) and pools it.
func (sc *scratch) release() {
	clear(sc.hits)
	clear(sc.policies)
	sc.hits, sc.policies = sc.hits[:0], sc.policies[:0]
	scratchPool.Put(sc)
}

// collect lists the request's hit and policy under every rule that
// applies.
func (m *Middleware) collect(r *http.Request, sc *scratch) error {
	for i := range m.Rules {
		rule := &m.Rules[i]
		p := rule.Zone.Policy(r.Method)
		if p == nil {
			continue
		}
		if rule.Match != nil {
			if ok, err := rule.Match(r); err != nil || !ok {
				if err != nil {
					return fmt.Errorf("throttle: zone %s: matching: %w", rule.Zone.Name(), err)
				}
				continue
			}
		}
		tag, client := rule.clientKey(r)
		sc.hits = append(sc.hits, p.Hit(tag, client))
		sc.policies = append(sc.policies, p)
	}
	return nil
}

// keyTags are the tags of the first keys of a rule, "<index>:".
var keyTags = [...]string{"0:", "1:", "2:", "3:", "4:", "5:", "6:", "7:"}

// clientKey is the first key that answers, with its tag; one key for
// all ("-") when none does.
func (rule *Rule) clientKey(r *http.Request) (tag, client string) {
	for i, key := range rule.Keys {
		if s, ok := key(r); ok {
			if i < len(keyTags) {
				return keyTags[i], s
			}
			return strconv.Itoa(i) + ":", s
		}
	}
	return "", "-"
}

// reject answers a refused request.
func (m *Middleware) reject(w http.ResponseWriter, r *http.Request, d Decision, policies []*Policy) error {
	zone := policies[d.Tightest()].Name
	if c := m.logger().Check(zap.DebugLevel, "rate limit exceeded"); c != nil {
		fields := []zap.Field{zap.String("zone", zone), zap.Duration("retry_after", d.RetryAfter())}
		if m.ClientIP != nil {
			fields = append(fields, zap.String("client_ip", m.ClientIP(r)))
		}
		c.Write(fields...)
	}
	if m.Handoff != nil {
		SetRetryAfter(w.Header(), d.RetryAfter())
		return m.Handoff(w, r, Refusal{Status: http.StatusTooManyRequests, Zone: zone,
			Err: fmt.Errorf("rate limit exceeded in zone %s", zone)})
	}
	Reject(w, r, m.FormatFor(r), m.CORS, d, policies)
	return nil
}

// storeFailed applies the failure policy when the store cannot decide.
func (m *Middleware) storeFailed(w http.ResponseWriter, r *http.Request, next middleware.Next, err error) error {
	if r.Context().Err() == nil && m.down.CompareAndSwap(false, true) {
		m.logger().Error("rate limit store unreachable",
			zap.String("store", m.StoreName), zap.Bool("fail_closed", m.FailClosed), zap.Error(err))
	}
	if !m.FailClosed {
		metrics.failedOpen.Inc()
		return next(w, r)
	}
	metrics.failedClosed.Inc()
	if m.Handoff != nil {
		SetRetryAfter(w.Header(), m.FailRetryAfter)
		return m.Handoff(w, r, Refusal{Status: http.StatusServiceUnavailable, Err: err})
	}
	Unavailable(w, r, m.FormatFor(r), m.CORS, m.FailRetryAfter)
	return nil
}

// FormatFor is the body format of a refusal of r.
func (m *Middleware) FormatFor(r *http.Request) Format {
	if m.Format != FormatAuto {
		return m.Format
	}
	if m.Kinto != nil && m.Kinto(r.URL.Path) {
		return FormatKinto
	}
	return FormatJSON
}

func (m *Middleware) logger() *zap.Logger {
	if m.Logger == nil {
		return zap.NewNop()
	}
	return m.Logger
}

// isPreflight tells a CORS preflight request (Fetch standard §3.2.2).
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" &&
		r.Header.Get("Access-Control-Request-Method") != ""
}
