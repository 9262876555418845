package integration

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/changegate/changegate/internal/testserver"
)

// corsStandalone has every module that writes CORS headers: throttle (a
// budget of two requests a minute per client), changes and docstore; %s
// goes into the throttle and docstore blocks (cors_origins).
const corsStandalone = changesGlobal + `:{port} {
	throttle {
		zone api {
			key {http.request.header.X-Client} {client_ip}
			events 2
			window 1m
		}
		%[1]s
	}
	changes {
		resources /buckets/main
	}
	docstore {
		storage bolt {dir}/data.db
		%[1]s
	}
}
`

// corsSidecar is a sidecar in front of %[1]s (its /v1 URL) at host
// %[2]s; %[3]s goes into its upstream block.
const corsSidecar = changesGlobal + `:{port} {
	changes {
		resources /buckets/main
		upstream %[1]s {
			poll_interval 200ms
			%[3]s
		}
	}
	reverse_proxy %[2]s
}
`

// expectCORS checks the origin fields of an answer: allow "" means no
// Access-Control-Allow-Origin, credentials whether
// Access-Control-Allow-Credentials: true is there.
func (r result) expectCORS(t testing.TB, what, allow string, credentials bool) result {
	t.Helper()
	got, creds := r.header.Get("Access-Control-Allow-Origin"), r.header.Get("Access-Control-Allow-Credentials")
	want := ""
	if credentials {
		want = "true"
	}
	if got != allow || creds != want {
		t.Fatalf("%s: Allow-Origin %q Allow-Credentials %q, want %q %q", what, got, creds, allow, want)
	}
	return r
}

// corsSetUp makes a shared bucket main with collection tasks, owned by
// alice.
func corsSetUp(t *testing.T, v1 string) {
	t.Helper()
	do(t, "PUT", v1+"/buckets/main", `{"permissions":{"read":["system.Everyone"]}}`, basic("alice")).expectStatus(t, 201)
	do(t, "PUT", v1+"/buckets/main/collections/tasks", "{}", basic("alice")).expectStatus(t, 201)
}

// TestCORSDefaultNoCredentials: by default any origin, even "null" (a
// sandboxed page, a file), may read answers but the browser is never
// told it may attach credentials; the same on docstore, changes and
// throttle answers.
func TestCORSDefaultNoCredentials(t *testing.T) {
	testserver.BoltOnly(t)
	s := testserver.Start(t, fmt.Sprintf(corsStandalone, ""))
	v1 := s.URL() + "/v1"
	corsSetUp(t, v1)
	for _, origin := range []string{"null", "https://evil.example"} {
		o := "Origin: " + origin
		do(t, "GET", v1+"/buckets/main/collections/tasks", "", basic("alice"), o, "X-Client: "+origin).expectStatus(t, 200).
			expectCORS(t, "docstore", "*", false)
		do(t, "GET", v1+"/buckets/main/collections/tasks/changeset?_expected=0", "", basic("alice"), o, "X-Client: "+origin).expectStatus(t, 200).
			expectCORS(t, "changeset", "*", false)
		do(t, "GET", v1+"/buckets/monitor/collections/changes/changeset?_expected=0", "", o, "X-Client: "+origin).expectStatus(t, 429).
			expectCORS(t, "throttle refusal", "*", false)
	}
	do(t, "OPTIONS", v1+"/buckets/main", "", "Origin: null", "Access-Control-Request-Method: PUT",
		"Access-Control-Request-Headers: authorization", "X-Client: preflight").expectStatus(t, 200).
		expectCORS(t, "preflight", "*", false)
}

// TestCORSListedOrigins: with cors_origins only the listed origins are
// echoed, with credentials and Vary: Origin; others get nothing.
func TestCORSListedOrigins(t *testing.T) {
	testserver.BoltOnly(t)
	s := testserver.Start(t, fmt.Sprintf(corsStandalone, "cors_origins https://app.example"))
	v1 := s.URL() + "/v1"
	corsSetUp(t, v1)
	app := "Origin: https://app.example"
	r := do(t, "GET", v1+"/buckets/main/collections/tasks", "", basic("alice"), app, "X-Client: app").expectStatus(t, 200).
		expectCORS(t, "docstore, listed", "https://app.example", true)
	if !strings.Contains(strings.Join(r.header.Values("Vary"), ","), "Origin") {
		t.Fatalf("Vary %q lacks Origin", r.header.Values("Vary"))
	}
	do(t, "GET", v1+"/buckets/main/collections/tasks/changeset?_expected=0", "", basic("alice"), app, "X-Client: app").expectStatus(t, 200).
		expectCORS(t, "changeset, listed", "https://app.example", true)
	do(t, "GET", v1+"/", "", app, "X-Client: app").expectStatus(t, 429).
		expectCORS(t, "throttle refusal, listed", "https://app.example", true)
	for _, origin := range []string{"null", "https://evil.example"} {
		o := "Origin: " + origin
		do(t, "GET", v1+"/buckets/main/collections/tasks", "", basic("alice"), o, "X-Client: "+origin).expectStatus(t, 200).
			expectCORS(t, "docstore, "+origin, "", false)
		do(t, "GET", v1+"/buckets/main/collections/tasks/changeset?_expected=0", "", basic("alice"), o, "X-Client: "+origin).expectStatus(t, 200).
			expectCORS(t, "changeset, "+origin, "", false)
		do(t, "GET", v1+"/", "", o, "X-Client: "+origin).expectStatus(t, 429).
			expectCORS(t, "throttle refusal, "+origin, "", false)
	}
}

// TestCORSSidecar: the sidecar's own answers follow the same rule, with
// cors_origins in its upstream block.
func TestCORSSidecar(t *testing.T) {
	up := testserver.Start(t, sidecarUpstreamCaddyfile)
	upV1 := up.URL() + "/v1"
	corsSetUp(t, upV1)
	u, _ := url.Parse(upV1)
	plain := testserver.Start(t, fmt.Sprintf(corsSidecar, upV1, u.Host, ""))
	cs := "/buckets/main/collections/tasks/changeset?_expected=0"
	do(t, "GET", plain.URL()+"/v1"+cs, "", basic("alice"), "Origin: null").expectStatus(t, 200).
		expectCORS(t, "sidecar default", "*", false)
	do(t, "GET", plain.URL()+"/v1/buckets/monitor/collections/changes/changeset?_expected=0", "", "Origin: https://evil.example").
		expectStatus(t, 200).expectCORS(t, "sidecar monitor default", "*", false)

	listed := testserver.Start(t, fmt.Sprintf(corsSidecar, upV1, u.Host, "cors_origins https://app.example"))
	do(t, "GET", listed.URL()+"/v1"+cs, "", basic("alice"), "Origin: https://app.example").expectStatus(t, 200).
		expectCORS(t, "sidecar listed", "https://app.example", true)
	do(t, "GET", listed.URL()+"/v1"+cs, "", basic("alice"), "Origin: null").expectStatus(t, 200).
		expectCORS(t, "sidecar unlisted", "", false)
}
