package integration

import (
	"fmt"
	"strings"
	"testing"

	"github.com/changegate/changegate/conditional"
	"github.com/changegate/changegate/internal/testserver"
)

// kintoData extracts the "data" member of a Kinto object body.
func kintoData(t testing.TB, body string) string {
	t.Helper()
	i := strings.Index(body, `"data":`)
	if i < 0 || !strings.HasSuffix(body, "}") {
		t.Fatalf("not a Kinto object: %s", body)
	}
	return body[i+len(`"data":`) : len(body)-1]
}

// quoted renders a Kinto ETag.
func quoted(ts int64) string { return fmt.Sprintf(`"%d"`, ts) }

// TestMannersKintoETagsBehindEncode: with encode gzip zstd in the same
// Caddyfile, Kinto routes keep numeric ETags (kinto-http parses them as
// the timestamp) and validators carrying encode's suffixes work, on
// reads and on writes.
func TestMannersKintoETagsBehindEncode(t *testing.T) {
	s := testserver.Start(t, mannersDocstore)
	kintoETagsBehindEncode(t, s.URL()+"/v1", "Accept-Encoding")
}

// TestMannersKintoSidecarBehindEncode is the same through reverse_proxy
// to a Kinto-compatible server (a second changegate with the docstore
// alone).
func TestMannersKintoSidecarBehindEncode(t *testing.T) {
	backend := testserver.Start(t, standalone)
	front := testserver.Start(t, strings.ReplaceAll(mannersSidecar, "{upstream}", strings.TrimPrefix(backend.URL(), "http://")))
	kintoETagsBehindEncode(t, front.URL()+"/v1", "Origin, Accept-Encoding")
}

// kintoETagsBehindEncode runs the checks against the Kinto API at v1,
// whose answers carry the given Vary.
func kintoETagsBehindEncode(t *testing.T, v1, vary string) {
	const json = "Content-Type: application/json"
	do(t, "PUT", v1+"/buckets/b", "{}", json).expectStatus(t, 201)
	do(t, "PUT", v1+"/buckets/b/collections/c", "{}", json).expectStatus(t, 201)
	recs := v1 + "/buckets/b/collections/c/records"
	rec := recs + "/r1"
	// Big enough for encode to compress it (it skips bodies under 512 B).
	put := do(t, "PUT", rec, `{"data":{"text":"`+strings.Repeat("x", 2000)+`"}}`, json, "Accept-Encoding: gzip").
		expectStatus(t, 201).expectHeader(t, "Content-Encoding", "gzip")
	ts := put.etag(t)
	doc := put.decoded(t)

	for _, enc := range []string{"gzip", "zstd"} {
		ae := "Accept-Encoding: " + enc
		do(t, "GET", rec, "", ae).expectDecoded(t, 200, doc).
			expectHeaders(t, "Content-Encoding", enc, "ETag", quoted(ts)).expectVary(t, vary)
		list := do(t, "GET", recs, "", ae).expectStatus(t, 200).expectHeader(t, "Content-Encoding", enc)
		if list.etag(t) != ts {
			t.Fatalf("%s: list ETag %d, want %d", enc, list.etag(t), ts)
		}
		do(t, "HEAD", recs, "", ae).expectStatus(t, 200).expectHeader(t, "ETag", quoted(ts))
		// A client (or cache) holding encode's form of the tag, or the
		// plain one, revalidates.
		for _, inm := range []string{fmt.Sprintf(`"%d-%s"`, ts, enc), quoted(ts)} {
			do(t, "GET", rec, "", ae, "If-None-Match: "+inm).expect(t, 304, "").
				expectHeaders(t, "ETag", quoted(ts), "Content-Encoding", "", "Content-Length", "").expectVary(t, vary)
		}
	}

	// A write with encode's form of the tag in If-Match reaches the
	// docstore as the plain integer (it answers 400 to anything else).
	patched := do(t, "PATCH", rec, `{"data":{"n":1}}`, json, "Accept-Encoding: zstd", fmt.Sprintf(`If-Match: "%d-gzip"`, ts)).
		expectStatus(t, 200).expectHeader(t, "Content-Encoding", "zstd")
	ts2 := patched.etag(t)
	if ts2 <= ts {
		t.Fatalf("PATCH ETag %d not after %d", ts2, ts)
	}
	current := do(t, "GET", rec, "", "Accept-Encoding: identity").expectStatus(t, 200)
	want := `{"code":412,"errno":114,"error":"Precondition Failed","message":"Resource was modified meanwhile","details":{"existing":` + kintoData(t, current.body) + `}}`
	do(t, "DELETE", rec, "", "Accept-Encoding: gzip", fmt.Sprintf(`If-Match: "%d-zstd"`, ts)).
		expectDecoded(t, 412, want).expectHeaders(t, "ETag", quoted(ts2), "Content-Encoding", "gzip")
	do(t, "DELETE", rec, "", "Accept-Encoding: gzip", fmt.Sprintf(`If-Match: "%d-zstd"`, ts2)).expectStatus(t, 200)
}

// TestMannersRequirePreconditionKinto: require_precondition answers 428
// with Kinto's error body on Kinto routes, before the docstore.
func TestMannersRequirePreconditionKinto(t *testing.T) {
	s := testserver.Start(t, mannersGlobal+`:{port} {
	encode gzip
	conditional {
		require_precondition
	}
	docstore {
		storage bolt {dir}/data.db
		userid_hmac_secret test-secret-of-16-bytes
		insecure_allow_all
	}
}
`)
	v1 := s.URL() + "/v1"
	const json = "Content-Type: application/json"
	const body428 = `{"code":428,"errno":108,"error":"Precondition Required","message":"This request must be conditional: send If-Match with the ETag you read, or If-None-Match: * to create."}`
	do(t, "PUT", v1+"/buckets/b", "{}", json).expect(t, 428, body428).
		expectHeaders(t, "Content-Type", "application/json", "Cache-Control", "")
	do(t, "GET", v1+"/buckets/b", "").expectStatus(t, 404) // the PUT never reached the docstore
	created := do(t, "PUT", v1+"/buckets/b", "{}", json, "If-None-Match: *").expectStatus(t, 201)
	do(t, "PATCH", v1+"/buckets/b", `{"data":{"a":1}}`, json).expect(t, 428, body428)
	do(t, "DELETE", v1+"/buckets/b", "").expect(t, 428, body428)
	do(t, "PATCH", v1+"/buckets/b", `{"data":{"a":1}}`, json, "If-Match: "+quoted(created.etag(t))).expectStatus(t, 200)
	do(t, "POST", v1+"/buckets", `{"data":{"id":"p"}}`, json).expectStatus(t, 201) // POST creates: not required
}

// TestMannersConditionalProxy: conditional in front of a foreign JSON
// API through reverse_proxy, with encode.
func TestMannersConditionalProxy(t *testing.T) {
	api := startForeignAPI(t)
	s := startSidecar(t, mannersSidecar, api)
	base := s.URL()
	const identity, gzip = "Accept-Encoding: identity", "Accept-Encoding: gzip"

	t.Run("computed ETag", func(t *testing.T) {
		etag := conditional.BodyETag([]byte(foreignDoc))
		do(t, "GET", base+"/plain", "", identity).expect(t, 200, foreignDoc).expectHeader(t, "ETag", etag)
		do(t, "HEAD", base+"/plain", "", identity).expect(t, 200, "").expectHeader(t, "ETag", etag)
		do(t, "GET", base+"/plain", "", identity, "If-None-Match: "+etag).expect(t, 304, "").
			expectHeaders(t, "ETag", etag, "Cache-Control", "max-age=60, s-maxage=300",
				"Content-Type", "", "Content-Length", "", "Last-Modified", "").
			expectVary(t, "Origin, Accept-Encoding").expectExpiresIn(t, 60e9)
		do(t, "HEAD", base+"/plain", "", identity, "If-None-Match: "+etag).expect(t, 304, "")
		// Compressed, the bytes sent differ, and so does the tag: it is
		// the hash of the gzip representation (RFC 9110 §8.8.3.3).
		gz := do(t, "GET", base+"/plain", "", gzip).expectDecoded(t, 200, foreignDoc).expectHeader(t, "Content-Encoding", "gzip")
		gzTag := conditional.BodyETag([]byte(gz.body))
		gz.expectHeader(t, "ETag", gzTag)
		do(t, "GET", base+"/plain", "", gzip, "If-None-Match: "+gzTag).expect(t, 304, "").expectHeader(t, "ETag", gzTag)
		do(t, "GET", base+"/plain", "", gzip, `If-None-Match: "other"`).expectDecoded(t, 200, foreignDoc)
	})

	t.Run("upstream validators", func(t *testing.T) {
		do(t, "GET", base+"/validated", "", gzip).expectDecoded(t, 200, foreignDoc).
			expectHeaders(t, "ETag", `"v1-gzip"`, "Last-Modified", foreignLastModified)
		// RFC 9110 §13.2.2, on the real stack: request headers, status.
		for _, tc := range []struct {
			headers []string
			status  int
			etag    string
		}{
			{[]string{gzip, `If-None-Match: "v1-gzip"`}, 304, `"v1-gzip"`},
			{[]string{identity, `If-None-Match: "v1-gzip"`}, 304, `"v1-gzip"`},
			{[]string{identity, `If-None-Match: "v1"`}, 304, `"v1"`},
			{[]string{gzip, `If-None-Match: W/"v1"`}, 304, `"v1-gzip"`},
			{[]string{gzip, `If-None-Match: "a", "v1-gzip"`}, 304, `"v1-gzip"`},
			{[]string{gzip, `If-None-Match: *`}, 304, `"v1-gzip"`},
			{[]string{gzip, `If-None-Match: "v2"`}, 200, `"v1-gzip"`},
			{[]string{gzip, "If-Modified-Since: " + foreignLastModified}, 304, `"v1-gzip"`},
			{[]string{gzip, "If-Modified-Since: Sun, 22 Nov 2026 11:59:59 GMT"}, 200, `"v1-gzip"`},
			{[]string{gzip, "If-Modified-Since: not a date"}, 200, `"v1-gzip"`},
			{[]string{gzip, `If-None-Match: "v2"`, "If-Modified-Since: " + foreignLastModified}, 200, `"v1-gzip"`},
			{[]string{gzip, `If-Match: "v1-gzip"`}, 200, `"v1-gzip"`},
			{[]string{gzip, `If-Match: "v1"`}, 200, `"v1-gzip"`},
			{[]string{gzip, `If-Match: *`}, 200, `"v1-gzip"`},
			{[]string{gzip, `If-Match: W/"v1"`}, 412, `"v1-gzip"`},
			{[]string{gzip, `If-Match: "v2"`}, 412, `"v1-gzip"`},
			{[]string{gzip, `If-Match: "v2"`, `If-None-Match: "v1"`}, 412, `"v1-gzip"`},
			{[]string{gzip, "If-Unmodified-Since: Sun, 22 Nov 2026 11:59:59 GMT"}, 412, `"v1-gzip"`},
			{[]string{gzip, "If-Unmodified-Since: " + foreignLastModified}, 200, `"v1-gzip"`},
		} {
			r := do(t, "GET", base+"/validated", "", tc.headers...)
			if r.status != tc.status || r.header.Get("ETag") != tc.etag {
				t.Fatalf("%v: got %d ETag %q, want %d %q", tc.headers, r.status, r.header.Get("ETag"), tc.status, tc.etag)
			}
			switch tc.status {
			case 304:
				r.expect(t, 304, "").expectHeaders(t, "Last-Modified", "", "Content-Encoding", "")
			case 412:
				r.expect(t, 412, "").expectHeaders(t, "Content-Type", "", "Content-Encoding", "", "Cache-Control", "", "Expires", "")
			default:
				r.expectDecoded(t, 200, foreignDoc)
			}
		}
		do(t, "HEAD", base+"/validated", "", gzip, `If-None-Match: "v1-gzip"`).expect(t, 304, "")
	})

	t.Run("upstream answers 304 itself", func(t *testing.T) {
		// The upstream sees the tag without encode's suffix, and the 304
		// carries back the tag the client's cache holds.
		do(t, "GET", base+"/smart", "", gzip, `If-None-Match: "s1-gzip"`).expect(t, 304, "").
			expectHeaders(t, "ETag", `"s1-gzip"`, "X-Seen-If-None-Match", `"s1"`, "Cache-Control", "max-age=60, s-maxage=300")
	})

	t.Run("writes reach the upstream with their preconditions", func(t *testing.T) {
		do(t, "PUT", base+"/echo", "{}", identity, `If-Match: "v1-gzip", "v2-zstd"`, `If-None-Match: "v3-br"`).
			expect(t, 200, `{"method":"PUT","query":"","if_match":"\"v1\", \"v2\"","if_none_match":"\"v3\"","override":""}`)
	})

	t.Run("errors are not evaluated", func(t *testing.T) {
		do(t, "GET", base+"/status/503", "", identity, `If-None-Match: "e1"`).
			expect(t, 503, `{"error":"Service Unavailable"}`).expectHeaders(t, "ETag", `"e1"`, "Cache-Control", "")
		do(t, "GET", base+"/status/404", "", identity, `If-Match: "nope"`).expect(t, 404, `{"error":"Not Found"}`)
	})
}
