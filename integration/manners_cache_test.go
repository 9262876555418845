package integration

import (
	"strings"
	"testing"
	"time"

	"github.com/changegate/changegate/internal/testserver"
)

// TestMannersCacheControlProxy: the policy in front of a foreign API.
func TestMannersCacheControlProxy(t *testing.T) {
	api := startForeignAPI(t)
	base := startSidecar(t, mannersSidecar, api).URL()
	const identity = "Accept-Encoding: identity"
	const short, long = "max-age=60, s-maxage=300", "max-age=3600, s-maxage=3600"
	for _, tc := range []struct {
		name, method, path string
		headers            []string
		status             int
		cc                 string
		maxAge             time.Duration
		vary               string
	}{
		{"default", "GET", "/plain", nil, 200, short, time.Minute, "Origin, Accept-Encoding"},
		{"head", "HEAD", "/plain", nil, 200, short, time.Minute, "Origin, Accept-Encoding"},
		{"cache busted", "GET", "/plain?_since=12&_expected=1795318542496", nil, 200, long, time.Hour, "Origin, Accept-Encoding"},
		{"_expected=0 does not bust", "GET", "/plain?_expected=0", nil, 200, short, time.Minute, "Origin, Accept-Encoding"},
		{"authenticated", "GET", "/plain", []string{"Authorization: Bearer t0ken"}, 200, "private, max-age=60", time.Minute, "Origin, Accept-Encoding"},
		{"busted and authenticated", "GET", "/plain?_expected=5", []string{"Authorization: Bearer t0ken"}, 200, "private, max-age=3600", time.Hour, "Origin, Accept-Encoding"},
		{"upstream Vary merged", "GET", "/vary", nil, 200, short, time.Minute, "Accept-Language, Origin, Accept-Encoding"},
		{"upstream Cache-Control kept", "GET", "/cached", nil, 200, "private, max-age=5", 0, "Origin, Accept-Encoding"},
		{"304", "GET", "/validated", []string{`If-None-Match: "v1"`}, 304, short, time.Minute, "Origin, Accept-Encoding"},
		{"404", "GET", "/status/404", nil, 404, "", 0, ""},
		{"429", "GET", "/status/429", nil, 429, "", 0, ""},
		{"503", "GET", "/status/503", nil, 503, "", 0, ""},
		{"write", "PUT", "/echo", nil, 200, "", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, tc.method, base+tc.path, "", append([]string{identity}, tc.headers...)...).expectStatus(t, tc.status).
				expectHeader(t, "Cache-Control", tc.cc).expectVary(t, tc.vary)
			if tc.maxAge > 0 {
				r.expectExpiresIn(t, tc.maxAge)
			} else {
				r.expectHeader(t, "Expires", "")
			}
		})
	}
}

// TestMannersCacheControlRules: one rule per request matcher; the first
// that matches, in Caddy's order for same-name directives (one-path
// matchers most specific first, other matchers as written, none last),
// applies.
func TestMannersCacheControlRules(t *testing.T) {
	api := startForeignAPI(t)
	base := startSidecar(t, mannersGlobal+`:{port} {
	@plain {
		path /plain
		method GET
	}
	cache_control @plain {
		no_store
	}
	@documents path /validated /plain
	cache_control @documents 1d {
		public
		stale_while_revalidate 1m
		stale_if_error 1d
	}
	cache_control {
		max_age 10
		must_revalidate
	}
	reverse_proxy {upstream}
}
`, api).URL()
	do(t, "GET", base+"/validated", "").expectHeader(t, "Cache-Control", "public, max-age=86400, stale-while-revalidate=60, stale-if-error=86400").
		expectExpiresIn(t, 24*time.Hour)
	do(t, "GET", base+"/plain", "").expectHeaders(t, "Cache-Control", "no-store", "Expires", "")
	do(t, "HEAD", base+"/plain", "").expectHeader(t, "Cache-Control", "public, max-age=86400, stale-while-revalidate=60, stale-if-error=86400")
	do(t, "GET", base+"/echo", "").expectHeader(t, "Cache-Control", "max-age=10, must-revalidate").expectExpiresIn(t, 10*time.Second)
}

// TestMannersCacheControlDocstore: the policy in front of the docstore,
// overriding its "no-cache, no-store" as Kinto's cache_expires does.
func TestMannersCacheControlDocstore(t *testing.T) {
	s := testserver.Start(t, mannersDocstore)
	rec, ts := seedRecord(t, s.URL()+"/v1")
	recs := strings.TrimSuffix(rec, "/r1")
	do(t, "GET", recs, "").expectStatus(t, 200).expectHeader(t, "Cache-Control", "max-age=60").expectExpiresIn(t, time.Minute)
	do(t, "GET", recs+"?_since=1&_expected=12345", "").expectStatus(t, 200).
		expectHeader(t, "Cache-Control", "max-age=3600").expectExpiresIn(t, time.Hour)
	do(t, "GET", rec, "", "If-None-Match: "+quoted(ts)).expect(t, 304, "").
		expectHeader(t, "Cache-Control", "max-age=60").expectExpiresIn(t, time.Minute)
	do(t, "GET", rec+"x", "").expectStatus(t, 404).expectHeaders(t, "Cache-Control", "", "Expires", "")
	do(t, "PUT", rec, `{"data":{}}`, "Content-Type: application/json").expectStatus(t, 200).expectHeader(t, "Cache-Control", "")
}
