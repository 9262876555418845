package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/changegate/changegate/internal/testserver"
)

// TestThrottleWindow: 2 events per 2s (one earned back per second).
// Exactly 2 pass with exact headers, then 429s in the problem-details
// format and, under /v1, in Kinto's; hammering does not push the wait
// further; after the window the whole budget is back.
func TestThrottleWindow(t *testing.T) {
	s := testserver.Start(t, throttled(`
		zone api {
			events 2
			window 2s
		}`))
	hello := s.URL() + "/hello"

	r, before, after := timedDo(t, "GET", hello)
	r.expect(t, 200, "hello").expectLimit(t, 2, 1, before, after, time.Second).
		expectHeader(t, "RateLimit-Policy", `"api";q=2;w=2`).
		expectHeader(t, "RateLimit", `"api";r=1;t=1`).
		expectHeader(t, "Retry-After", "")
	r, before, after = timedDo(t, "GET", hello)
	r.expect(t, 200, "hello").expectLimit(t, 2, 0, before, after, 2*time.Second).
		expectHeader(t, "RateLimit", `"api";r=0;t=1`)

	r, before, after = timedDo(t, "GET", hello)
	r.expect(t, 429, problemTooMany("api")).expectLimit(t, 2, 0, before.Add(-time.Second), after, 2*time.Second).
		expectHeader(t, "Content-Type", "application/problem+json").
		expectHeader(t, "Cache-Control", "no-store").
		expectHeader(t, "Retry-After", "1").
		expectHeader(t, "RateLimit-Policy", `"api";q=2;w=2`).
		expectHeader(t, "RateLimit", `"api";r=0;t=1`)
	for range 5 {
		// Refusals spend nothing: the wait never grows past 1s.
		do(t, "GET", s.URL()+"/v1/", "").expect(t, 429, kintoTooMany).
			expectHeader(t, "Content-Type", "application/json").
			expectHeader(t, "X-Content-Type-Options", "nosniff").
			expectHeader(t, "Retry-After", "1")
	}
	if got := adminMetric(t, s, `changegate_throttle_requests_total{result="limited"}`); got != "6" {
		t.Fatalf("limited requests counted: %q, want 6", got)
	}

	time.Sleep(2 * time.Second)
	r, before, after = timedDo(t, "GET", s.URL()+"/v1/")
	r.expectStatus(t, 200).expectLimit(t, 2, 1, before, after, time.Second)
	if r.json(t)["project_name"] != "kinto" {
		t.Fatalf("docstore did not answer: %s", r.body)
	}
	if got := adminMetric(t, s, `changegate_throttle_requests_total{result="allowed"}`); got != "3" {
		t.Fatalf("allowed requests counted: %q, want 3", got)
	}
}

// TestThrottleConcurrentMemory: 200 concurrent requests against a limit
// of 50: exactly 50 pass.
func TestThrottleConcurrentMemory(t *testing.T) {
	s := testserver.Start(t, throttled(`
		zone api {
			events 50
			window 1h
		}`))
	if got := concurrentGets(t, s.URL()+"/hello", 200); got[200] != 50 || got[429] != 150 {
		t.Fatalf("statuses %v, want 50×200 and 150×429", got)
	}
}

// TestThrottleKeyTemplates: the first template whose placeholders are all
// set names the client; without the header, the client IP does.
func TestThrottleKeyTemplates(t *testing.T) {
	s := testserver.Start(t, throttled(`
		zone api {
			key {http.request.header.X-Client} {client_ip}
			events 1
			window 1h
		}`))
	hello := s.URL() + "/hello"
	do(t, "GET", hello, "", "X-Client: a").expect(t, 200, "hello")
	do(t, "GET", hello, "", "X-Client: a").expectStatus(t, 429)
	do(t, "GET", hello, "", "X-Client: b").expect(t, 200, "hello")
	do(t, "GET", hello, "").expect(t, 200, "hello")
	do(t, "GET", hello, "").expectStatus(t, 429)
	do(t, "GET", hello, "", "X-Client: c").expect(t, 200, "hello")
}

// TestThrottleAuthenticatedUsers: by default an authenticated user has a
// budget of their own, and anonymous requests share their IP's.
func TestThrottleAuthenticatedUsers(t *testing.T) {
	const hash = "$2a$04$qhQAWFNOM/irUQNHycNJ8.jbZSl0R7.vXzHExZGJDTtn9bHt.S9ja" // "secret", cost 4
	s := testserver.Start(t, throttleSite(`	basic_auth /private/* {
		alice `+hash+`
		bob `+hash+`
	}
	throttle {
		zone api {
			events 1
			window 1h
		}
	}
	respond "hello"`))
	alice := "Authorization: Basic YWxpY2U6c2VjcmV0" // alice:secret
	bob := "Authorization: Basic Ym9iOnNlY3JldA=="   // bob:secret
	do(t, "GET", s.URL()+"/private/x", "", alice).expect(t, 200, "hello")
	do(t, "GET", s.URL()+"/private/x", "", alice).expectStatus(t, 429)
	do(t, "GET", s.URL()+"/private/x", "", bob).expect(t, 200, "hello")
	do(t, "GET", s.URL()+"/public", "").expect(t, 200, "hello")
	do(t, "GET", s.URL()+"/public", "").expectStatus(t, 429)
	do(t, "GET", s.URL()+"/private/x", "", bob).expectStatus(t, 429)
}

// TestThrottleMethodsAndMatchers: a per-method limit has its own budget, a
// zone with a matcher only meets matching requests, the tightest zone
// answers, and a request refused by one zone spends nothing in the other.
func TestThrottleMethodsAndMatchers(t *testing.T) {
	s := testserver.Start(t, throttled(`
		zone api {
			events 3
			window 1h
			method POST 1 1h
		}
		zone search {
			events 1
			window 1h
			match {
				query q=*
			}
		}`))
	hello := s.URL() + "/hello"
	r, before, after := timedDo(t, "POST", hello)
	r.expect(t, 200, "hello").expectLimit(t, 1, 0, before, after, time.Hour).
		expectHeader(t, "RateLimit-Policy", `"api";q=1;w=3600`)
	do(t, "POST", hello, "").expect(t, 429, problemTooMany("api"))

	r, before, after = timedDo(t, "GET", hello)
	r.expect(t, 200, "hello").expectLimit(t, 3, 2, before, after, 20*time.Minute).
		expectHeader(t, "RateLimit-Policy", `"api";q=3;w=3600`).
		expectHeader(t, "RateLimit", `"api";r=2;t=1200`)
	r, before, after = timedDo(t, "GET", hello+"?q=1")
	r.expect(t, 200, "hello").expectLimit(t, 1, 0, before, after, time.Hour).
		expectHeader(t, "RateLimit-Policy", `"api";q=3;w=3600, "search";q=1;w=3600`).
		expectHeader(t, "RateLimit", `"api";r=1;t=1200, "search";r=0;t=3600`)
	do(t, "GET", hello+"?q=2", "").expect(t, 429, problemTooMany("search")).
		expectHeader(t, "RateLimit", `"api";r=1;t=1200, "search";r=0;t=3600`).
		expectHeader(t, "Retry-After", "3600")
	do(t, "GET", hello, "").expect(t, 200, "hello").expectHeader(t, "X-RateLimit-Remaining", "0")
	do(t, "GET", hello, "").expect(t, 429, problemTooMany("api"))
}

// TestThrottleHandleErrors: with format handle_errors, the user's
// handle_errors route writes the body; the headers are already set.
func TestThrottleHandleErrors(t *testing.T) {
	s := testserver.Start(t, throttleSite(`	throttle {
		zone api {
			events 1
			window 1h
		}
		format handle_errors
	}
	respond "hello"
	handle_errors 429 {
		respond "slow down ({http.throttle.zone}, retry in {http.throttle.retry_after}s)" 429
	}`))
	do(t, "GET", s.URL()+"/", "").expect(t, 200, "hello")
	r, before, after := timedDo(t, "GET", s.URL()+"/")
	r.expect(t, 429, "slow down (api, retry in 3600s)").
		expectLimit(t, 1, 0, before.Add(-time.Minute), after, time.Hour).
		expectHeader(t, "Retry-After", "3600").
		expectHeader(t, "RateLimit", `"api";r=0;t=3600`)
}

// TestThrottleReloadKeepsBudgets: a config reload keeps what clients
// spent, and takes the new options.
func TestThrottleReloadKeepsBudgets(t *testing.T) {
	zone := `
		zone api {
			events 2
			window 1h
		}`
	s := testserver.Start(t, throttled(zone))
	do(t, "GET", s.URL()+"/hello", "").expect(t, 200, "hello")
	do(t, "GET", s.URL()+"/hello", "").expect(t, 200, "hello")
	if err := s.Reload(throttled(zone + "\n\t\tdisable_ietf_headers")); err != nil {
		t.Fatal(err)
	}
	do(t, "GET", s.URL()+"/hello", "").expect(t, 429, problemTooMany("api")).
		expectHeader(t, "X-RateLimit-Remaining", "0").
		expectHeader(t, "RateLimit", "").expectHeader(t, "RateLimit-Policy", "")
}

// TestThrottlePreflight: CORS preflights are neither counted nor limited;
// a browser reading a Kinto refusal gets CORS headers.
func TestThrottlePreflight(t *testing.T) {
	s := testserver.Start(t, throttled(`
		zone api {
			events 1
			window 1h
		}`))
	preflight := []string{"Origin: https://app.example", "Access-Control-Request-Method: PUT"}
	for range 3 {
		do(t, "OPTIONS", s.URL()+"/hello", "", preflight...).expect(t, 200, "hello").expectNoLimit(t)
	}
	do(t, "GET", s.URL()+"/v1/", "", "Origin: https://app.example").expectStatus(t, 200)
	do(t, "GET", s.URL()+"/v1/", "", "Origin: https://app.example").expect(t, 429, kintoTooMany).
		expectHeader(t, "Access-Control-Allow-Origin", "*").
		expectHeader(t, "Access-Control-Expose-Headers", "Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, RateLimit, RateLimit-Policy, Content-Length, Content-Type")
}

// TestThrottleInvalidConfig: configs that adapt but cannot run are
// refused at load with a message that names the problem.
func TestThrottleInvalidConfig(t *testing.T) {
	for _, tc := range []struct{ zone, err string }{
		{"zone api {\n events 10\n window 1500ms\n}", "zone api: window must be a whole number of seconds, at least 1s, got 1.5s"},
		{"zone a:b {\n events 10\n window 1s\n}", `zone name "a:b": use 1 to 64 letters, digits, '_', '.' or '-'`},
		{"zone api {\n key {client_ip}\n}", "zone api: no limit (set events and window, or a per-method limit)"},
		{"zone api {\n method get 1 1s\n}", `zone api: invalid method "get" (methods are upper case)`},
		{"zone api {\n events 1\n window 1s\n}\nkinto_prefix v1", `throttle: kinto_prefix "v1" must start with /`},
	} {
		dir := t.TempDir()
		path := filepath.Join(dir, "Caddyfile")
		if err := os.WriteFile(path, []byte(":8080 {\n throttle {\n"+tc.zone+"\n }\n}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(testserver.Binary(t), "validate", "--config", path, "--adapter", "caddyfile").CombinedOutput()
		// The log is JSON: quotes in the message come escaped.
		if err == nil || !strings.Contains(strings.ReplaceAll(string(out), `\"`, `"`), tc.err) {
			t.Errorf("%q: validate said %v\n%s\nwant an error containing %q", tc.zone, err, out, tc.err)
		}
	}
}
