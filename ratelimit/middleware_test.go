package ratelimit

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"

	"github.com/changegate/changegate/internal/cors"
)

// failingStore cannot decide while its err is set.
type failingStore struct {
	Store
	err error
}

func (s *failingStore) Take(ctx context.Context, hits []Hit, d *Decision) error {
	if s.err != nil {
		return s.err
	}
	return s.Store.Take(ctx, hits, d)
}

// headerKey keys clients by a request header, ok false when absent.
func headerKey(name string) func(*http.Request) (string, bool) {
	return func(r *http.Request) (string, bool) {
		v := r.Header.Get(name)
		return v, v != ""
	}
}

// newTestMiddleware limits every request to 2 per minute, keyed by
// X-User, else X-IP, on a memory store; the log is observed.
func newTestMiddleware(t *testing.T) (*Middleware, *failingStore, *observer.ObservedLogs) {
	t.Helper()
	core, logs := observer.New(zap.DebugLevel)
	store := &failingStore{Store: NewMemory(100, newFakeClock())}
	return &Middleware{
		Rules: []Rule{{
			Zone: mustZone(t, "api", &Limit{Events: 2, Window: time.Minute}, nil),
			Keys: []func(*http.Request) (string, bool){headerKey("X-User"), headerKey("X-IP")},
		}},
		Store:          store,
		StoreName:      "test",
		FailRetryAfter: 3 * time.Second,
		Format:         FormatAuto,
		Kinto:          func(path string) bool { return strings.HasPrefix(path, "/v1") },
		CORS:           cors.New(nil),
		IETFHeaders:    true,
		Logger:         zap.New(core),
	}, store, logs
}

// serve runs one request through m, reporting whether next was reached.
func serve(t *testing.T, m *Middleware, r *http.Request) (*httptest.ResponseRecorder, bool, error) {
	t.Helper()
	w := httptest.NewRecorder()
	passed := false
	err := m.Serve(w, r, func(w http.ResponseWriter, _ *http.Request) error {
		passed = true
		w.WriteHeader(http.StatusNoContent)
		return nil
	})
	return w, passed, err
}

func get(path string, header ...string) *http.Request {
	r := httptest.NewRequest("GET", path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return r
}

// TestMiddlewareKeys: the first key that answers names the client, each
// key kind has budgets of its own, and clients without any key share one.
func TestMiddlewareKeys(t *testing.T) {
	m, _, _ := newTestMiddleware(t)
	for i, c := range []struct {
		header []string
		pass   bool
	}{
		{[]string{"X-User", "alice"}, true},
		{[]string{"X-User", "alice", "X-IP", "1.2.3.4"}, true},
		{[]string{"X-User", "alice"}, false},
		// The same string as an IP is another client than as a user.
		{[]string{"X-IP", "alice"}, true},
		{[]string{"X-IP", "1.2.3.4"}, true},
		{nil, true},
		{nil, true},
		{nil, false},
		{[]string{"X-User", "bob"}, true},
	} {
		w, passed, err := serve(t, m, get("/x", c.header...))
		if err != nil || passed != c.pass {
			t.Fatalf("request %d %v: passed %v (%v), want %v", i, c.header, passed, err, c.pass)
		}
		if want := map[bool]int{true: 204, false: 429}[c.pass]; w.Code != want {
			t.Fatalf("request %d: status %d, want %d", i, w.Code, want)
		}
	}
}

// TestMiddlewareRefusalFormats: refusals are Kinto's errno 117 body on
// Kinto routes and problem details elsewhere under FormatAuto, with
// Retry-After and the rate limit fields; a fixed format applies
// everywhere.
func TestMiddlewareRefusalFormats(t *testing.T) {
	for _, c := range []struct {
		format      Format
		path        string
		contentType string
		body        string
	}{
		{FormatAuto, "/v1/buckets", "application/json", `"errno":117`},
		{FormatAuto, "/other", "application/problem+json", `"violated-policies":["api"]`},
		{FormatPlain, "/v1/buckets", "text/plain; charset=utf-8", "Too Many Requests\n"},
	} {
		m, _, _ := newTestMiddleware(t)
		m.Format = c.format
		for range 2 {
			serve(t, m, get(c.path, "X-User", "alice"))
		}
		w, passed, err := serve(t, m, get(c.path, "X-User", "alice"))
		if passed || err != nil || w.Code != http.StatusTooManyRequests {
			t.Fatalf("%v %s: passed %v, err %v, status %d", c.format, c.path, passed, err, w.Code)
		}
		h := w.Header()
		if h.Get("Content-Type") != c.contentType || !strings.Contains(w.Body.String(), c.body) {
			t.Errorf("%v %s: %s %q, want %s with %q", c.format, c.path, h.Get("Content-Type"), w.Body, c.contentType, c.body)
		}
		if h.Get("Retry-After") != "30" || h.Get("X-Ratelimit-Remaining") != "0" || h.Get("Ratelimit-Policy") != `"api";q=2;w=60` {
			t.Errorf("%v %s: headers %v", c.format, c.path, h)
		}
	}
}

// TestMiddlewarePreflight: CORS preflights are neither counted nor
// refused.
func TestMiddlewarePreflight(t *testing.T) {
	m, _, _ := newTestMiddleware(t)
	for i := range 5 {
		r := httptest.NewRequest("OPTIONS", "/v1/", nil)
		r.Header.Set("Origin", "https://app.example")
		r.Header.Set("Access-Control-Request-Method", "POST")
		w, passed, _ := serve(t, m, r)
		if !passed || w.Header().Get("X-Ratelimit-Limit") != "" {
			t.Fatalf("preflight %d: passed %v, headers %v", i, passed, w.Header())
		}
	}
	if _, passed, _ := serve(t, m, get("/v1/")); !passed {
		t.Fatal("the first real request was refused: preflights were counted")
	}
}

// TestMiddlewareMatch: a rule applies only to the requests it matches,
// and a matcher's error is the request's.
func TestMiddlewareMatch(t *testing.T) {
	m, _, _ := newTestMiddleware(t)
	boom := errors.New("boom")
	m.Rules[0].Match = func(r *http.Request) (bool, error) {
		if r.URL.Path == "/boom" {
			return false, boom
		}
		return r.URL.Path == "/limited", nil
	}
	for range 3 {
		if w, passed, _ := serve(t, m, get("/free")); !passed || w.Header().Get("X-Ratelimit-Limit") != "" {
			t.Fatalf("unmatched request: passed %v, headers %v", passed, w.Header())
		}
	}
	if _, _, err := serve(t, m, get("/boom")); !errors.Is(err, boom) {
		t.Fatalf("matcher error: got %v", err)
	}
	if w, passed, _ := serve(t, m, get("/limited")); !passed || w.Header().Get("X-Ratelimit-Remaining") != "1" {
		t.Fatalf("matched request: passed %v, headers %v", passed, w.Header())
	}
}

// TestMiddlewareFailOpen: while the store cannot decide, requests pass
// without rate limit fields; the outage and its end are logged once.
func TestMiddlewareFailOpen(t *testing.T) {
	m, store, logs := newTestMiddleware(t)
	store.err = errors.New("connection refused")
	for range 3 {
		w, passed, err := serve(t, m, get("/v1/"))
		if !passed || err != nil || w.Header().Get("X-Ratelimit-Limit") != "" {
			t.Fatalf("fail open: passed %v, err %v, headers %v", passed, err, w.Header())
		}
	}
	store.err = nil
	for range 2 {
		if _, passed, _ := serve(t, m, get("/v1/")); !passed {
			t.Fatal("refused after the store came back")
		}
	}
	if n := logs.FilterMessage("rate limit store unreachable").Len(); n != 1 {
		t.Errorf("outage logged %d times, want 1", n)
	}
	if n := logs.FilterMessage("rate limit store reachable again").Len(); n != 1 {
		t.Errorf("recovery logged %d times, want 1", n)
	}
}

// TestMiddlewareFailClosed: while the store cannot decide, requests get
// 503 with the configured Retry-After, in the route's format.
func TestMiddlewareFailClosed(t *testing.T) {
	m, store, _ := newTestMiddleware(t)
	m.FailClosed = true
	store.err = errors.New("connection refused")
	w, passed, err := serve(t, m, get("/v1/"))
	if passed || err != nil || w.Code != http.StatusServiceUnavailable {
		t.Fatalf("fail closed: passed %v, err %v, status %d", passed, err, w.Code)
	}
	if w.Header().Get("Retry-After") != "3" || !strings.Contains(w.Body.String(), `"errno":201`) {
		t.Errorf("fail closed: Retry-After %q, body %s", w.Header().Get("Retry-After"), w.Body)
	}
}

// TestMiddlewareHandoff: with Handoff, refusals are handed over with
// their status, zone and cause, and no body is written.
func TestMiddlewareHandoff(t *testing.T) {
	m, store, _ := newTestMiddleware(t)
	var got []Refusal
	m.Handoff = func(w http.ResponseWriter, _ *http.Request, rf Refusal) error {
		got = append(got, rf)
		return rf.Err
	}
	for range 2 {
		serve(t, m, get("/v1/"))
	}
	w, passed, err := serve(t, m, get("/v1/"))
	if passed || err == nil || err.Error() != "rate limit exceeded in zone api" || w.Body.Len() != 0 || w.Header().Get("Retry-After") != "30" {
		t.Fatalf("429 hand-off: passed %v, err %v, body %q, headers %v", passed, err, w.Body, w.Header())
	}
	m.FailClosed = true
	store.err = errors.New("down")
	w, _, err = serve(t, m, get("/v1/"))
	if err != store.err || w.Header().Get("Retry-After") != "3" {
		t.Fatalf("503 hand-off: err %v, headers %v", err, w.Header())
	}
	if len(got) != 2 || got[0].Status != 429 || got[0].Zone != "api" || got[1].Status != 503 || got[1].Zone != "" {
		t.Fatalf("refusals handed off: %+v", got)
	}
}
