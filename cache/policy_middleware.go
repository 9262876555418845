package cache

import (
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/changegate/changegate/internal/middleware"
	"github.com/changegate/changegate/internal/recorder"
	"github.com/changegate/changegate/kinto"
	"github.com/changegate/changegate/render"
)

// DefaultBustParam is the cache-busting query parameter of Kinto's
// changes endpoints.
const DefaultBustParam = kinto.ExpectedParam

// Policy sets Cache-Control and Expires on answers to GET and HEAD, as
// Kinto's cache_expires settings do: the Default directives, or the
// Busted ones (merged over Default) when the request carries the
// cache-busting parameter. Only 2xx and 304 answers get them (so never
// 4xx such as 428 and 429, nor 5xx), and never server-sent events or
// other announced streams; an upstream Cache-Control is kept
// unless Override. Authenticated requests get private directives unless
// AuthenticatedPublic. Vary is merged with what the answer has.
//
// When several policies wrap one request (several cache_control
// directives whose matchers match), the outermost one applies and the
// others step aside.
type Policy struct {
	Default Directives
	Busted  Directives
	// BustParam is the cache-busting parameter. Default:
	// DefaultBustParam. As in Kinto, the values "0" and "9999…" (sent
	// when the client has no timestamp to expect) do not bust.
	BustParam string
	// Override replaces an upstream Cache-Control (and Expires).
	Override bool
	// AuthenticatedPublic keeps the directives as they are for
	// authenticated requests.
	AuthenticatedPublic bool
	// Vary lists request headers to add to Vary.
	Vary []string
	// Authenticated reports a user authenticated by another handler;
	// requests with an Authorization header count anyway.
	Authenticated func(*http.Request) bool
	// Now is the clock (time.Now by default).
	Now func() time.Time

	rendered [2][2]rendered // [busted][authenticated]
}

// rendered is a prepared variant of the policy.
type rendered struct {
	value  string
	maxAge *time.Duration
	// expires caches the last Expires value: it changes once a second.
	expires *atomic.Pointer[stamp]
}

// stamp is an Expires value and the second it was computed for.
type stamp struct {
	second int64
	value  string
}

// claimed is the writer of the policy that applies: inner policies find
// it down their writer chain and step aside.
type claimed struct{ *recorder.Recorder }

// Prepare renders the header values once; call it before Serve.
func (p *Policy) Prepare() {
	for b, dirs := range [...]Directives{p.Default, p.Default.Merge(p.Busted)} {
		for a, d := range [...]Directives{dirs, dirs.ForAuthenticated()} {
			if a == 1 && p.AuthenticatedPublic {
				d = dirs
			}
			r := rendered{value: d.Value(), expires: new(atomic.Pointer[stamp])}
			if !d.NoStore {
				r.maxAge = d.MaxAge
			}
			p.rendered[b][a] = r
		}
	}
}

// Serve runs the middleware around next.
func (p *Policy) Serve(w http.ResponseWriter, r *http.Request, next middleware.Next) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead || isClaimed(w) {
		return next(w, r)
	}
	v := p.variant(r)
	return next(claimed{render.HeaderHook(w, func(status int, h http.Header) {
		if (status == http.StatusNotModified || (status >= 200 && status <= 299)) && !render.IsStream(h) {
			p.apply(h, v)
		}
	})}, r)
}

// isClaimed reports whether an outer policy already handles the
// request: its writer is somewhere down w's chain.
func isClaimed(w http.ResponseWriter) bool {
	for {
		switch t := w.(type) {
		case claimed:
			return true
		case interface{ Unwrap() http.ResponseWriter }:
			w = t.Unwrap()
		default:
			return false
		}
	}
}

// variant picks the prepared directives for the request.
func (p *Policy) variant(r *http.Request) rendered {
	busted, auth := 0, 0
	if p.busted(r) {
		busted = 1
	}
	if r.Header.Get("Authorization") != "" || (p.Authenticated != nil && p.Authenticated(r)) {
		auth = 1
	}
	return p.rendered[busted][auth]
}

// busted applies Kinto's rule (_handle_cache_expires): the parameter,
// non-empty, and not a cache-busting placeholder (kinto.IsCacheBuster).
func (p *Policy) busted(r *http.Request) bool {
	name := p.BustParam
	if name == "" {
		name = DefaultBustParam
	}
	v, ok := render.QueryParam(r.URL.RawQuery, name)
	v = strings.Trim(v, `"`)
	return ok && v != "" && !kinto.IsCacheBuster(v)
}

// apply sets the headers of variant v.
func (p *Policy) apply(h http.Header, v rendered) {
	if h.Get("Cache-Control") == "" || p.Override {
		if v.value != "" {
			h.Set("Cache-Control", v.value)
		}
		if v.maxAge != nil {
			h.Set("Expires", p.expires(v))
		} else {
			h.Del("Expires")
		}
	}
	MergeVary(h, p.Vary...)
}

// expires is now plus max-age as an HTTP date, formatted once a second.
func (p *Policy) expires(v rendered) string {
	now := p.now()
	sec := now.Unix()
	if st := v.expires.Load(); st != nil && st.second == sec {
		return st.value
	}
	// The second of the answer plus max-age as sent, in whole seconds.
	exp := time.Unix(sec+seconds(*v.maxAge), 0)
	st := &stamp{second: sec, value: exp.UTC().Format(http.TimeFormat)}
	v.expires.Store(st)
	return st.value
}

func (p *Policy) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

// MergeVary adds names to the Vary header, keeping what is there and
// each name once (compared case-insensitively). "Vary: *" absorbs all.
func MergeVary(h http.Header, names ...string) {
	for _, n := range names {
		if !httpguts.HeaderValuesContainsToken(h["Vary"], n) && !httpguts.HeaderValuesContainsToken(h["Vary"], "*") {
			h["Vary"] = append(h["Vary"], n)
		}
	}
}

// Interface guard: the one middleware shape.
var _ middleware.Handler = (*Policy)(nil)
