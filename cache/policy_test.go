package cache

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func dur(d time.Duration) *time.Duration { return &d }

func TestDirectivesValue(t *testing.T) {
	tests := []struct {
		d    Directives
		want string
	}{
		{Directives{MaxAge: dur(time.Minute)}, "max-age=60"},
		{Directives{MaxAge: dur(0)}, "max-age=0"},
		{Directives{MaxAge: dur(90 * time.Second), SMaxAge: dur(time.Hour), StaleWhileRevalidate: dur(30 * time.Second),
			StaleIfError: dur(24 * time.Hour), Public: true, MustRevalidate: true, Immutable: true},
			"public, max-age=90, s-maxage=3600, stale-while-revalidate=30, stale-if-error=86400, must-revalidate, immutable"},
		{Directives{MaxAge: dur(1500 * time.Millisecond), Public: true, Private: true}, "private, max-age=1"},
		{Directives{MaxAge: dur(time.Minute), NoStore: true}, "no-store"},
		{Directives{MaxAge: dur(-time.Second)}, "max-age=0"},
		{Directives{}, ""},
	}
	for _, tt := range tests {
		if got := tt.d.Value(); got != tt.want {
			t.Errorf("Value() = %q, want %q", got, tt.want)
		}
	}
	d := Directives{MaxAge: dur(time.Minute), SMaxAge: dur(time.Hour), Public: true}
	if got := d.ForAuthenticated().Value(); got != "private, max-age=60" {
		t.Errorf("ForAuthenticated: %q", got)
	}
	merged := d.Merge(Directives{MaxAge: dur(time.Hour), Immutable: true})
	if got := merged.Value(); got != "public, max-age=3600, s-maxage=3600, immutable" {
		t.Errorf("Merge: %q", got)
	}
}

func TestPolicy(t *testing.T) {
	now := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	p := &Policy{
		Default: Directives{MaxAge: dur(time.Minute), SMaxAge: dur(5 * time.Minute), Public: true},
		Busted:  Directives{MaxAge: dur(time.Hour), SMaxAge: dur(time.Hour)},
		Vary:    []string{"Origin"},
		Now:     func() time.Time { return now },
	}
	p.Prepare()
	const (
		inAMinute = "Sun, 22 Nov 2026 12:01:00 GMT"
		inAnHour  = "Sun, 22 Nov 2026 13:00:00 GMT"
	)
	tests := []struct {
		name, method, target string
		reqHeader            []string
		status               int
		respHeader           []string
		cc, expires, vary    string
	}{
		{"default", "GET", "/r", nil, 200, nil, "public, max-age=60, s-maxage=300", inAMinute, "Origin"},
		{"head", "HEAD", "/r", nil, 200, nil, "public, max-age=60, s-maxage=300", inAMinute, "Origin"},
		{"304", "GET", "/r", nil, 304, nil, "public, max-age=60, s-maxage=300", inAMinute, "Origin"},
		{"busted", "GET", "/r?_since=1&_expected=1795318542496", nil, 200, nil, "public, max-age=3600, s-maxage=3600", inAnHour, "Origin"},
		{"busted quoted", "GET", `/r?_expected=%22179%22`, nil, 200, nil, "public, max-age=3600, s-maxage=3600", inAnHour, "Origin"},
		{"expected 0 does not bust", "GET", "/r?_expected=0", nil, 200, nil, "public, max-age=60, s-maxage=300", inAMinute, "Origin"},
		{"expected 9999 does not bust", "GET", "/r?_expected=99999999", nil, 200, nil, "public, max-age=60, s-maxage=300", inAMinute, "Origin"},
		{"expected empty does not bust", "GET", "/r?_expected=", nil, 200, nil, "public, max-age=60, s-maxage=300", inAMinute, "Origin"},
		{"authenticated", "GET", "/r", []string{"Authorization", "Basic eDp5"}, 200, nil, "private, max-age=60", inAMinute, "Origin"},
		{"upstream kept", "GET", "/r", nil, 200, []string{"Cache-Control", "no-cache", "Expires", "0"}, "no-cache", "0", "Origin"},
		{"vary merged", "GET", "/r", nil, 200, []string{"Vary", "Accept-Encoding, origin"}, "public, max-age=60, s-maxage=300", inAMinute, "Accept-Encoding, origin"},
		{"vary star", "GET", "/r", nil, 200, []string{"Vary", "*"}, "public, max-age=60, s-maxage=300", inAMinute, "*"},
		{"not on 404", "GET", "/r", nil, 404, nil, "", "", ""},
		{"not on 428", "GET", "/r", nil, 428, nil, "", "", ""},
		{"not on 429", "GET", "/r", nil, 429, nil, "", "", ""},
		{"not on 503", "GET", "/r", nil, 503, nil, "", "", ""},
		{"not on writes", "PUT", "/r", nil, 200, nil, "", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := serve(t, p, tt.method, tt.target, tt.reqHeader, tt.status, tt.respHeader)
			if h.Get("Cache-Control") != tt.cc || h.Get("Expires") != tt.expires || joinVary(h) != tt.vary {
				t.Fatalf("Cache-Control %q Expires %q Vary %q", h.Get("Cache-Control"), h.Get("Expires"), joinVary(h))
			}
		})
	}
}

func TestPolicyOverrideAndNoStore(t *testing.T) {
	p := &Policy{Default: Directives{NoStore: true}, Override: true}
	p.Prepare()
	h := serve(t, p, "GET", "/r", nil, 200, []string{"Cache-Control", "max-age=600", "Expires", "Sun, 22 Nov 2026 13:00:00 GMT"})
	if h.Get("Cache-Control") != "no-store" || h.Get("Expires") != "" {
		t.Fatalf("override: %v", h)
	}
	p = &Policy{Default: Directives{MaxAge: dur(time.Minute), Public: true}, AuthenticatedPublic: true,
		Authenticated: func(*http.Request) bool { return true }}
	p.Prepare()
	if h := serve(t, p, "GET", "/r", nil, 200, nil); h.Get("Cache-Control") != "public, max-age=60" {
		t.Fatalf("authenticated_public: %v", h)
	}
}

func TestOutermostPolicyWins(t *testing.T) {
	outer := &Policy{Default: Directives{MaxAge: dur(time.Hour)}}
	inner := &Policy{Default: Directives{MaxAge: dur(time.Minute)}, Override: true}
	outer.Prepare()
	inner.Prepare()
	w := httptest.NewRecorder()
	err := outer.Serve(w, httptest.NewRequest("GET", "/", nil), func(w http.ResponseWriter, r *http.Request) error {
		return inner.Serve(w, r, func(w http.ResponseWriter, r *http.Request) error {
			w.WriteHeader(200)
			return nil
		})
	})
	if err != nil || w.Header().Get("Cache-Control") != "max-age=3600" {
		t.Fatalf("got %q %v, want the outer policy", w.Header().Get("Cache-Control"), err)
	}
}

// serve runs one request through p to an answer of status with the
// given headers, and returns the headers the client got.
func serve(t *testing.T, p *Policy, method, target string, reqHeader []string, status int, respHeader []string) http.Header {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i < len(reqHeader); i += 2 {
		r.Header.Set(reqHeader[i], reqHeader[i+1])
	}
	w := httptest.NewRecorder()
	err := p.Serve(w, r, func(w http.ResponseWriter, r *http.Request) error {
		for i := 0; i < len(respHeader); i += 2 {
			w.Header().Set(respHeader[i], respHeader[i+1])
		}
		w.WriteHeader(status)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return w.Header()
}

func joinVary(h http.Header) string {
	out := ""
	for i, v := range h.Values("Vary") {
		if i > 0 {
			out += ", "
		}
		out += v
	}
	return out
}
