package ratelimit

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/changegate/changegate/internal/cors"
)

// mustZone builds a zone or fails the test.
func mustZone(t testing.TB, name string, def *Limit, methods map[string]Limit) *Zone {
	t.Helper()
	z, err := NewZone(name, def, methods)
	if err != nil {
		t.Fatal(err)
	}
	return z
}

// request decides one request of a client through zones on store s and
// returns the decision and the policies that applied.
func request(t testing.TB, s Store, method, key string, zones ...*Zone) (Decision, []*Policy) {
	t.Helper()
	var hits []Hit
	var policies []*Policy
	for _, z := range zones {
		if p := z.Policy(method); p != nil {
			hits = append(hits, p.Hit("", key))
			policies = append(policies, p)
		}
	}
	return take(t, s, hits...), policies
}

// checkHeaders compares the rate limit fields, "" meaning absent.
func checkHeaders(t *testing.T, step string, h http.Header, want map[string]string) {
	t.Helper()
	for name, value := range want {
		if got := h.Get(name); got != value {
			t.Errorf("%s: %s = %q, want %q", step, name, got, value)
		}
	}
}

// TestHeaderValues checks every field's exact value through a burst, a
// refusal and recovery, with two zones on one request. "api" earns 10
// events back per second, so it is full again after a 2s pause.
func TestHeaderValues(t *testing.T) {
	clock := newFakeClock()
	s := NewMemory(100, clock)
	api := mustZone(t, "api", &Limit{Events: 600, Window: time.Minute}, nil)
	writes := mustZone(t, "writes", nil, map[string]Limit{"POST": {Events: 2, Window: 10 * time.Second}})
	at := epoch.Unix()
	steps := []struct {
		step    string
		advance time.Duration
		method  string
		allowed bool
		want    map[string]string
	}{
		{"GET meets api only", 0, "GET", true, map[string]string{
			"X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "599", "X-RateLimit-Reset": itoa(at + 1),
			"RateLimit-Policy": `"api";q=600;w=60`, "RateLimit": `"api";r=599;t=1`,
		}},
		{"POST meets both, writes is tighter", 0, "POST", true, map[string]string{
			"X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "1", "X-RateLimit-Reset": itoa(at + 5),
			"RateLimit-Policy": `"api";q=600;w=60, "writes";q=2;w=10`, "RateLimit": `"api";r=598;t=1, "writes";r=1;t=5`,
		}},
		{"2nd POST", 0, "POST", true, map[string]string{
			"X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": itoa(at + 10),
			"RateLimit": `"api";r=597;t=1, "writes";r=0;t=5`,
		}},
		{"3rd POST is refused and spends nothing", 2 * time.Second, "POST", false, map[string]string{
			"X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": itoa(at + 10),
			"RateLimit": `"api";r=600, "writes";r=0;t=3`,
		}},
		{"GET still passes", 0, "GET", true, map[string]string{
			"X-RateLimit-Limit": "600", "X-RateLimit-Remaining": "599", "X-RateLimit-Reset": itoa(at + 3),
			"RateLimit-Policy": `"api";q=600;w=60`, "RateLimit": `"api";r=599;t=1`,
		}},
		{"POST after one is earned back", 3 * time.Second, "POST", true, map[string]string{
			"X-RateLimit-Limit": "2", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": itoa(at + 15),
			"RateLimit": `"api";r=599;t=1, "writes";r=0;t=5`,
		}},
	}
	for _, st := range steps {
		clock.Advance(st.advance)
		d, policies := request(t, s, st.method, "1:alice", api, writes)
		if d.Allowed != st.allowed {
			t.Fatalf("%s: allowed = %v", st.step, d.Allowed)
		}
		h := http.Header{}
		SetHeaders(h, d, policies, true)
		checkHeaders(t, st.step, h, st.want)
	}
}

// TestHeadersWithoutIETF: only the X-RateLimit-* fields.
func TestHeadersWithoutIETF(t *testing.T) {
	s := NewMemory(100, newFakeClock())
	d, policies := request(t, s, "GET", "1:a", mustZone(t, "api", &Limit{Events: 10, Window: time.Second}, nil))
	h := http.Header{}
	SetHeaders(h, d, policies, false)
	checkHeaders(t, "no ietf", h, map[string]string{
		"X-RateLimit-Limit": "10", "X-RateLimit-Remaining": "9", "X-RateLimit-Reset": itoa(epoch.Unix() + 1),
		"RateLimit-Policy": "", "RateLimit": "",
	})
	if len(h) != 3 {
		t.Fatalf("headers: %v", h)
	}
}

// TestRejectBodies checks each format's exact 429 and 503 answers.
func TestRejectBodies(t *testing.T) {
	clock := newFakeClock()
	s := NewMemory(100, clock)
	z := mustZone(t, "api", &Limit{Events: 1, Window: 30 * time.Second}, nil)
	request(t, s, "GET", "k", z)
	clock.Advance(time.Second + time.Millisecond)
	d, policies := request(t, s, "GET", "k", z)
	const problem = `{"type":"https://iana.org/assignments/http-problem-types#quota-exceeded","title":"Request cannot be satisfied as assigned quota has been exceeded","status":429,"violated-policies":["api"]}`
	for _, tc := range []struct {
		name        string
		format      Format
		method      string
		origin      string
		status      int
		contentType string
		body        string
		cors        bool
	}{
		{"json", FormatJSON, "GET", "", 429, "application/problem+json", problem, false},
		{"kinto", FormatKinto, "GET", "", 429, "application/json", kintoTooMany, false},
		{"kinto from a browser", FormatKinto, "GET", "https://app.example", 429, "application/json", kintoTooMany, true},
		{"kinto HEAD", FormatKinto, "HEAD", "", 429, "application/json", "", false},
		{"plain", FormatPlain, "GET", "", 429, "text/plain; charset=utf-8", "Too Many Requests\n", false},
		{"json 503", FormatJSON, "GET", "", 503, "application/problem+json", problemUnavail, false},
		{"kinto 503", FormatKinto, "GET", "", 503, "application/json", kintoUnavailable, false},
		{"plain 503", FormatPlain, "GET", "", 503, "text/plain; charset=utf-8", "Service Unavailable\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			r := httptest.NewRequest(tc.method, "/v1/", nil)
			if tc.origin != "" {
				r.Header.Set("Origin", tc.origin)
			}
			if tc.status == 429 {
				Reject(rec, r, tc.format, cors.New(nil), d, policies)
			} else {
				Unavailable(rec, r, tc.format, cors.New(nil), 3*time.Second)
			}
			wantRetry := "29"
			if tc.status == 503 {
				wantRetry = "3"
			}
			if rec.Code != tc.status || rec.Body.String() != tc.body {
				t.Fatalf("got %d %q, want %d %q", rec.Code, rec.Body.String(), tc.status, tc.body)
			}
			allow := ""
			if tc.cors {
				allow = "*"
			}
			checkHeaders(t, tc.name, rec.Header(), map[string]string{
				"Content-Type": tc.contentType, "Retry-After": wantRetry, "Cache-Control": "no-store",
				"Access-Control-Allow-Origin": allow,
			})
		})
	}
}

func TestZoneValidation(t *testing.T) {
	one := &Limit{Events: 1, Window: time.Second}
	for _, tc := range []struct {
		name    string
		def     *Limit
		methods map[string]Limit
		err     string
	}{
		{"api", one, nil, ""},
		{"a:b", one, nil, `zone name "a:b": use 1 to 64 letters, digits, '_', '.' or '-'`},
		{"api", nil, nil, "zone api: no limit (set events and window, or a per-method limit)"},
		{"api", nil, map[string]Limit{"get": *one}, `zone api: invalid method "get" (methods are upper case)`},
		{"api", &Limit{Events: 1}, nil, "zone api: window must be a whole number of seconds, at least 1s, got 0s"},
		{"api", nil, map[string]Limit{"POST": {}}, "zone api, method POST: events must be at least 1, got 0"},
	} {
		_, err := NewZone(tc.name, tc.def, tc.methods)
		if (err == nil) != (tc.err == "") || (err != nil && err.Error() != tc.err) {
			t.Errorf("%s %v %v: got %v, want %q", tc.name, tc.def, tc.methods, err, tc.err)
		}
	}
}

// TestZoneMethods: a method with its own limit has its own budget; the
// others share the default, or pass when there is none.
func TestZoneMethods(t *testing.T) {
	z := mustZone(t, "api", &Limit{Events: 5, Window: time.Minute}, map[string]Limit{"POST": {Events: 1, Window: time.Minute}})
	get := z.Policy("GET").Hit("1:", "a")
	head := z.Policy("HEAD").Hit("1:", "a")
	p := z.Policy("POST")
	post := p.Hit("1:", "a")
	if get.Key != "api:*:1:a" || head.Key != get.Key || post.Key != "api:POST:1:a" || p.Limit.Events != 1 {
		t.Fatalf("keys %q %q %q, policy %+v", get.Key, head.Key, post.Key, p)
	}
	writes := mustZone(t, "writes", nil, map[string]Limit{"POST": {Events: 1, Window: time.Minute}})
	if writes.Policy("GET") != nil {
		t.Fatal("GET is limited by a zone that only limits POST")
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestReadyMadeValues: the values a policy keeps ready for a client's
// first event are the ones formatting the state would give, for every
// state of a budget, including a limit whose window does not divide into
// whole microseconds per event (1500 per second: the interval rounds down
// to 666µs, so one event leaves the budget full).
func TestReadyMadeValues(t *testing.T) {
	for _, l := range []Limit{
		{Events: 1, Window: time.Second},
		{Events: 3, Window: 10 * time.Second},
		{Events: 30, Window: 100 * time.Second},
		{Events: 1500, Window: time.Second},
		{Events: 1_000_000, Window: time.Second},
	} {
		p, err := newPolicy("z", "*", l)
		if err != nil {
			t.Fatal(err)
		}
		step := max(l.window()/500, 1)
		for pending := int64(0); pending <= l.window()+l.interval(); pending += step {
			s := l.state(pending, true)
			if got, want := p.remaining(s), itoa(s.Remaining); got != want {
				t.Fatalf("%v, pending %dµs: remaining %q, want %q", l, pending, got, want)
			}
			if got, want := p.rateLimitItem(s), string(appendRateLimitItem(nil, p, s)); got != want {
				t.Fatalf("%v, pending %dµs: RateLimit %q, want %q", l, pending, got, want)
			}
		}
	}
	if got := resetSecond(1_800_000_000); got != "1800000000" || resetSecond(1_800_000_001) != "1800000001" || resetSecond(1_800_000_000) != got {
		t.Fatalf("reset seconds: %q", got)
	}
}
