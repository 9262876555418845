package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/changegate/changegate/conditional"
	"github.com/changegate/changegate/internal/testserver"
)

// seedRecord creates bucket b, collection c and record r1 {"title":"one"}
// on the Kinto API at v1, and returns the record's URL and timestamp.
func seedRecord(t *testing.T, v1 string) (string, int64) {
	t.Helper()
	const json = "Content-Type: application/json"
	do(t, "PUT", v1+"/buckets/b", "{}", json).expectStatus(t, 201)
	do(t, "PUT", v1+"/buckets/b/collections/c", "{}", json).expectStatus(t, 201)
	rec := v1 + "/buckets/b/collections/c/records/r1"
	return rec, do(t, "PUT", rec, `{"data":{"title":"one"}}`, json).expectStatus(t, 201).etag(t)
}

// indent4 is the expected ?pretty rendering of a compact JSON text.
func indent4(t *testing.T, compact string) string {
	t.Helper()
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(compact), "", "    "); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// TestMannersPrettyDocstore: ?pretty on the docstore, behind encode.
func TestMannersPrettyDocstore(t *testing.T) {
	s := testserver.Start(t, mannersDocstore)
	rec, ts := seedRecord(t, s.URL()+"/v1")
	compact := fmt.Sprintf(`{"permissions":%s,"data":{"title":"one","id":"r1","last_modified":%d}}`, anonWrite, ts)
	pretty := fmt.Sprintf("{\n    \"permissions\": {\n        \"write\": [\n            \"system.Everyone\"\n        ]\n    },\n"+
		"    \"data\": {\n        \"title\": \"one\",\n        \"id\": \"r1\",\n        \"last_modified\": %d\n    }\n}", ts)
	do(t, "GET", rec, "", "Accept-Encoding: identity").expect(t, 200, compact)
	r := do(t, "GET", rec+"?pretty", "", "Accept-Encoding: identity").expect(t, 200, pretty).
		expectHeaders(t, "Content-Length", fmt.Sprint(len(pretty)), "Content-Type", "application/json", "ETag", quoted(ts))
	// The ETag is the document's: it revalidates, and it guards writes.
	do(t, "GET", rec+"?pretty", "", "Accept-Encoding: identity", "If-None-Match: "+r.header.Get("ETag")).expect(t, 304, "")
	do(t, "GET", rec+"?pretty=1", "", "Accept-Encoding: gzip").expectDecoded(t, 200, pretty).
		expectHeaders(t, "Content-Encoding", "", "ETag", quoted(ts)) // under 512 bytes: not compressed
	// ?pretty is ours: the docstore must not read it as a filter.
	list := fmt.Sprintf(`{"data":[{"title":"one","id":"r1","last_modified":%d}]}`, ts)
	do(t, "GET", strings.TrimSuffix(rec, "/r1")+"?pretty", "", "Accept-Encoding: identity").expect(t, 200, indent4(t, list))
	// Kinto's errors are JSON too.
	do(t, "GET", rec+"x?pretty", "", "Accept-Encoding: identity").
		expect(t, 404, indent4(t, `{"code":404,"errno":110,"error":"Not Found","details":{"id":"r1x","resource_name":"record"}}`))
	do(t, "PATCH", rec+"?pretty", `{"data":{"n":1}}`, "Content-Type: application/json", "If-Match: "+r.header.Get("ETag")).expectStatus(t, 200)
}

// TestMannersPrettyProxy: ?pretty in front of a foreign API.
func TestMannersPrettyProxy(t *testing.T) {
	api := startForeignAPI(t)
	base := startSidecar(t, mannersSidecar, api).URL()
	want := indent4(t, foreignDoc)
	do(t, "GET", base+"/plain?pretty", "", "Accept-Encoding: identity").expect(t, 200, want).
		expectHeaders(t, "Content-Length", fmt.Sprint(len(want)), "ETag", conditional.BodyETag([]byte(want)))
	do(t, "GET", base+"/validated?pretty", "", "Accept-Encoding: gzip").expectDecoded(t, 200, want).
		expectHeaders(t, "Content-Encoding", "gzip", "ETag", `"v1-gzip"`)
	do(t, "GET", base+"/validated?pretty", "", "Accept-Encoding: gzip", `If-None-Match: "v1-gzip"`).expect(t, 304, "")
	do(t, "GET", base+"/invalid?pretty", "", "Accept-Encoding: identity").expect(t, 200, `{"broken":`)
	do(t, "GET", base+"/echo?a=1&pretty&b=2", "", "Accept-Encoding: identity").
		expect(t, 200, indent4(t, `{"method":"GET","query":"a=1&b=2","if_match":"","if_none_match":"","override":""}`))
	do(t, "GET", base+"/status/502?pretty", "", "Accept-Encoding: identity").expect(t, 502, "{\n    \"error\": \"Bad Gateway\"\n}")
}

// TestMannersJSONPDocstore: ?callback= on the docstore, behind encode.
func TestMannersJSONPDocstore(t *testing.T) {
	s := testserver.Start(t, mannersDocstore)
	rec, ts := seedRecord(t, s.URL()+"/v1")
	compact := fmt.Sprintf(`{"permissions":%s,"data":{"title":"one","id":"r1","last_modified":%d}}`, anonWrite, ts)
	want := "/**/ cb(" + compact + ");"
	do(t, "GET", rec+"?callback=cb", "", "Accept-Encoding: identity").expect(t, 200, want).
		expectHeaders(t, "Content-Type", "application/javascript; charset=utf-8", "X-Content-Type-Options", "nosniff",
			"Content-Length", fmt.Sprint(len(want)), "ETag", quoted(ts), "Cache-Control", "max-age=60")
	do(t, "GET", rec+"?callback=app.onData&pretty", "", "Accept-Encoding: identity").expect(t, 200, "/**/ app.onData("+indent4(t, compact)+");")
	list := fmt.Sprintf(`{"data":[{"title":"one","id":"r1","last_modified":%d}]}`, ts)
	do(t, "GET", strings.TrimSuffix(rec, "/r1")+"?callback=cb&_=1795318542496", "", "Accept-Encoding: identity").expect(t, 200, "/**/ cb("+list+");")
	// Errors reach the page's script: 200, never cached.
	do(t, "GET", rec+"x?callback=cb", "", "Accept-Encoding: identity").
		expect(t, 200, `/**/ cb({"code":404,"errno":110,"error":"Not Found","details":{"id":"r1x","resource_name":"record"}});`).
		expectHeaders(t, "Cache-Control", "no-store", "ETag", "")
	const badName = `{"code":400,"errno":107,"error":"Invalid parameters","message":"callback in querystring: must match ^[a-zA-Z_$][\\w$.]*$ and be at most 128 characters","details":[{"location":"querystring","name":"callback","description":"must match ^[a-zA-Z_$][\\w$.]*$ and be at most 128 characters"}]}`
	do(t, "GET", rec+"?callback=alert(document.cookie)", "", "Accept-Encoding: identity").expect(t, 400, badName)
	do(t, "GET", rec+"?callback="+strings.Repeat("a", 129), "", "Accept-Encoding: identity").expect(t, 400, badName)
	do(t, "GET", rec+"?callback=cb", "", "Accept-Encoding: identity", basic("alice")).
		expect(t, 400, `{"code":400,"errno":107,"error":"Invalid parameters","message":"callback in querystring: JSONP is disabled for authenticated requests (it would expose them to any site); use CORS","details":[{"location":"querystring","name":"callback","description":"JSONP is disabled for authenticated requests (it would expose them to any site); use CORS"}]}`)
}

// TestMannersJSONPProxy: ?callback= in front of a foreign API.
func TestMannersJSONPProxy(t *testing.T) {
	api := startForeignAPI(t)
	base := startSidecar(t, mannersSidecar, api).URL()
	do(t, "GET", base+"/unicode?callback=cb", "", "Accept-Encoding: identity").
		expect(t, 200, `/**/ cb({"s":"line\u2028para\u2029end"});`)
	do(t, "GET", base+"/status/503?callback=cb", "", "Accept-Encoding: identity").
		expect(t, 200, `/**/ cb({"error":"Service Unavailable"});`).expectHeaders(t, "Cache-Control", "no-store", "ETag", "")
	want := "/**/ cb(" + foreignDoc + ");"
	gz := do(t, "GET", base+"/validated?callback=cb", "", "Accept-Encoding: gzip").expectDecoded(t, 200, want).
		expectHeaders(t, "Content-Encoding", "gzip", "ETag", `"v1-gzip"`, "Content-Type", "application/javascript; charset=utf-8")
	// conditional computes ETags for JSON only: a script gets none.
	do(t, "GET", base+"/plain?callback=cb", "", "Accept-Encoding: identity").expect(t, 200, want).expectHeader(t, "ETag", "")
	do(t, "GET", base+"/validated?callback=cb", "", "Accept-Encoding: gzip", "If-None-Match: "+gz.header.Get("ETag")).expect(t, 304, "")
	do(t, "GET", base+"/plain?callback=1cb", "", "Accept-Encoding: identity").expect(t, 400, "")
	do(t, "GET", base+"/plain?callback=cb", "", "Accept-Encoding: identity", "Cookie: session=s3cr3t").expect(t, 400, "")
	do(t, "GET", base+"/echo?callback=cb", "", "Accept-Encoding: identity").
		expect(t, 200, `/**/ cb({"method":"GET","query":"","if_match":"","if_none_match":"","override":""});`)
}
