package integration

import (
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/changegate/changegate/internal/testserver"
)

// sidecarPoll is the sidecar's poll interval in these tests: writes made
// straight to the upstream must show within about one of them.
const sidecarPoll = 200 * time.Millisecond

// sidecarUpstreamCaddyfile is the upstream: a standalone changegate with
// its docstore only (no changes module), as an existing Kinto would be.
const sidecarUpstreamCaddyfile = changesGlobal + `:{port} {
	docstore {
		storage bolt {dir}/data.db
		userid_hmac_secret test-secret-of-16-bytes
		flush_endpoint
	}
}
`

// sidecarCaddyfile is the sidecar in front of the upstream %[1]s (its /v1
// URL), reached at host %[2]s; %[3]s goes into the changes block. The
// service account svc:pw polls. The monitor lists every collection, as
// the reference does: these tests are about following the upstream
// (security_monitor_test.go covers what anonymous callers see).
const sidecarCaddyfile = changesGlobal + `:{port} {
	changes {
		resources /buckets/blocklists
		monitor_visibility all
		http_host www.kinto-storage.org
		upstream %[1]s {
			poll_interval 200ms
			relist_interval 200ms
			max_backoff 1s
			timeout 2s
			auth basic svc pw
		}
		%[3]s
	}
	reverse_proxy %[2]s
}
`

// sidecarEnv is an upstream and a sidecar in front of it.
type sidecarEnv struct {
	// up and side are the /v1 URLs of the upstream and of the sidecar.
	up, side string
	// upstream is the upstream process, nil for the reference Kinto.
	upstream *testserver.Server
	sidecar  *testserver.Server
}

// forEachUpstream runs fn against a changegate upstream, then against
// the reference Kinto at KINTO_URL (its /v1 URL, with the flush
// endpoint on) when set.
func forEachUpstream(t *testing.T, fn func(t *testing.T, env *sidecarEnv)) {
	t.Run("changegate", func(t *testing.T) {
		up := testserver.Start(t, sidecarUpstreamCaddyfile)
		fn(t, startChangesSidecar(t, up.URL()+"/v1", up))
	})
	t.Run("kinto", func(t *testing.T) {
		kinto := os.Getenv("KINTO_URL")
		if kinto == "" {
			t.Skip("KINTO_URL is not set: no reference Kinto to run the sidecar suite against (KINTO_URL=http://host:8888/v1, with kinto.flush_endpoint_enabled)")
		}
		fn(t, startChangesSidecar(t, strings.TrimSuffix(kinto, "/"), nil))
	})
}

// startChangesSidecar empties the upstream, creates blocklists/certificates as
// alice (svc may read the bucket) and starts a sidecar in front.
func startChangesSidecar(t *testing.T, upV1 string, up *testserver.Server, extra ...string) *sidecarEnv {
	t.Helper()
	u, err := url.Parse(upV1)
	if err != nil {
		t.Fatal(err)
	}
	do(t, "POST", upV1+"/__flush__", "").expectStatus(t, 202)
	sidecarBucket(t, upV1, "blocklists")
	changesCreate(t, upV1, "blocklists", "certificates")
	side := testserver.Start(t, fmt.Sprintf(sidecarCaddyfile, upV1, u.Host, strings.Join(extra, "\n\t\t")))
	return &sidecarEnv{up: upV1, side: side.URL() + "/v1", upstream: up, sidecar: side}
}

// sidecarBucket creates a bucket as alice that svc may read.
func sidecarBucket(t *testing.T, v1, bucket string) {
	t.Helper()
	body := fmt.Sprintf(`{"permissions":{"read":[%q]}}`, sidecarPrincipal(t, v1, "svc"))
	if r := do(t, "PUT", v1+"/buckets/"+bucket, body, basic("alice")); r.status >= 300 {
		t.Fatalf("PUT bucket %s: %d %s", bucket, r.status, r.body)
	}
}

// sidecarPrincipal is a basicauth user's id as the server names it.
func sidecarPrincipal(t *testing.T, v1, user string) string {
	t.Helper()
	r := do(t, "GET", v1+"/", "", basic(user)).expectStatus(t, 200)
	return r.json(t)["user"].(map[string]any)["id"].(string)
}

// sidecarMonitor returns the monitor entries' last_modified by
// collection, as the sidecar lists them.
func sidecarMonitor(t testing.TB, side string) (map[string]int64, result) {
	t.Helper()
	r := do(t, "GET", side+monitorChangeset+"?_expected=0", "").expectStatus(t, 200)
	out := map[string]int64{}
	for _, e := range changesEntries(t, r.body, "changes") {
		out[e["bucket"].(string)+"/"+e["collection"].(string)] = changesNumber(t, e["last_modified"])
	}
	return out, r
}

// sidecarEventually polls the sidecar's monitor until cond holds or
// within fails the test; it returns how long it took.
func sidecarEventually(t *testing.T, side string, within time.Duration, what string, cond func(map[string]int64) bool) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		m, _ := sidecarMonitor(t, side)
		if cond(m) {
			return time.Since(start)
		}
		if time.Since(start) > within {
			t.Fatalf("%s: not within %v; monitor: %v", what, within, m)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
