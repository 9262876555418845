package integration

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/changegate/changegate/internal/testserver"
)

const standalone = `{
	admin localhost:{admin}
	http_port {port}
	auto_https off
	persist_config off
}
:{port} {
	docstore {
		storage bolt {dir}/data.db
		userid_hmac_secret test-secret-of-16-bytes
		insecure_allow_all
		flush_endpoint
	}
}
`

const (
	exposeDefault    = "Backoff, Content-Length, Retry-After, Content-Type, Alert"
	exposeObjectRead = "Last-Modified, Backoff, Cache-Control, ETag, Pragma, Expires, Content-Length, Retry-After, Content-Type, Alert"
	exposePluralRead = "Last-Modified, Backoff, Cache-Control, Next-Page, ETag, Pragma, Expires, Content-Length, Retry-After, Content-Type, Alert"
	anonWrite        = `{"write":["system.Everyone"]}`
)

// TestKintoTranscript replays the reference transcripts recorded from Kinto
// (entries 1-37 and 65-71) and checks statuses,
// headers and exact bodies, with our timestamps and generated ids put in.
func TestKintoTranscript(t *testing.T) {
	s := testserver.Start(t, standalone)
	v1 := s.URL() + "/v1"

	do(t, "POST", v1+"/__flush__", "").expect(t, 202, "{}").
		expectHeader(t, "Content-Type", "application/json").
		expectHeader(t, "X-Content-Type-Options", "nosniff").
		expectHeader(t, "Access-Control-Expose-Headers", exposeDefault)

	root := do(t, "GET", v1+"/", "").expectStatus(t, 200).json(t)
	if root["http_api_version"] != "1.23" || root["url"] != v1+"/" || root["project_name"] != "kinto" {
		t.Fatalf("server info: %v", root)
	}
	settings := root["settings"].(map[string]any)
	if fmt.Sprint(settings["batch_max_requests"]) != "25" || settings["readonly"] != false || settings["explicit_permissions"] != true {
		t.Fatalf("settings: %v", settings)
	}
	if _, ok := root["capabilities"].(map[string]any)["flush_endpoint"]; !ok {
		t.Fatalf("capabilities lack flush_endpoint: %v", root["capabilities"])
	}
	do(t, "GET", v1, "").expectStatus(t, 307).
		expectHeader(t, "Location", "/v1/").expectHeader(t, "Cache-Control", "max-age=3600")
	do(t, "GET", v1+"/__heartbeat__", "").expect(t, 200, `{"cache":true,"permission":true,"storage":true}`)
	do(t, "GET", v1+"/__lbheartbeat__", "").expect(t, 200, `{}`)
	if ver := do(t, "GET", v1+"/__version__", "").expectStatus(t, 200).json(t); ver["name"] != "changegate" {
		t.Fatalf("version: %v", ver)
	}

	// [10]-[13] buckets and collections.
	r := do(t, "PUT", v1+"/buckets/anon", "{}")
	ts := r.etag(t)
	r.expect(t, 201, fmt.Sprintf(`{"permissions":%s,"data":{"id":"anon","last_modified":%d}}`, anonWrite, ts)).
		expectHeader(t, "Access-Control-Expose-Headers", exposeDefault).
		expectHeader(t, "Last-Modified", httpDate(ts))
	r = do(t, "PUT", v1+"/buckets/main", `{"data":{}}`)
	r.expect(t, 201, fmt.Sprintf(`{"permissions":%s,"data":{"id":"main","last_modified":%d}}`, anonWrite, r.etag(t)))
	r2 := do(t, "PUT", v1+"/buckets/main", `{"data":{}}`)
	r2.expect(t, 200, fmt.Sprintf(`{"permissions":%s,"data":{"id":"main","last_modified":%d}}`, anonWrite, r2.etag(t)))
	if r2.etag(t) <= r.etag(t) {
		t.Fatalf("bucket timestamp did not increase: %d then %d", r.etag(t), r2.etag(t))
	}
	r = do(t, "PUT", v1+"/buckets/main/collections/a", `{"data":{"title":"A"}}`)
	collTS := r.etag(t)
	r.expect(t, 201, fmt.Sprintf(`{"permissions":%s,"data":{"title":"A","id":"a","last_modified":%d}}`, anonWrite, collTS))

	// [15]-[17] records.
	recs := v1 + "/buckets/main/collections/a/records"
	r = do(t, "PUT", recs+"/r1", `{"data":{"title":"one","n":1}}`)
	ts1 := r.etag(t)
	r.expect(t, 201, fmt.Sprintf(`{"permissions":%s,"data":{"title":"one","n":1,"id":"r1","last_modified":%d}}`, anonWrite, ts1))
	r = do(t, "POST", recs, `{"data":{"title":"two","n":2}}`).expectStatus(t, 201)
	ts2 := r.etag(t)
	id2 := r.json(t)["data"].(map[string]any)["id"].(string)
	if !regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(id2) {
		t.Fatalf("POSTed record id %q is not a UUID4", id2)
	}
	r.expect(t, 201, fmt.Sprintf(`{"permissions":%s,"data":{"title":"two","n":2,"id":"%s","last_modified":%d}}`, anonWrite, id2, ts2))
	r = do(t, "PUT", recs+"/r3", `{"data":{"title":"three","n":3},"permissions":{"read":["system.Everyone"]}}`)
	ts3 := r.etag(t)
	r.expect(t, 201, fmt.Sprintf(`{"permissions":{"read":["system.Everyone"],"write":["system.Everyone"]},"data":{"title":"three","n":3,"id":"r3","last_modified":%d}}`, ts3))
	if !(ts1 < ts2 && ts2 < ts3) {
		t.Fatalf("record timestamps not increasing: %d %d %d", ts1, ts2, ts3)
	}
	rec1 := fmt.Sprintf(`{"title":"one","n":1,"id":"r1","last_modified":%d}`, ts1)
	rec2 := fmt.Sprintf(`{"title":"two","n":2,"id":"%s","last_modified":%d}`, id2, ts2)
	rec3 := fmt.Sprintf(`{"title":"three","n":3,"id":"r3","last_modified":%d}`, ts3)

	// [18] list, [20] HEAD, [21] pagination, [22] sort, [23]-[24] _since.
	do(t, "GET", recs, "").expect(t, 200, `{"data":[`+rec3+","+rec2+","+rec1+`]}`).
		expectHeader(t, "ETag", fmt.Sprintf(`"%d"`, ts3)).
		expectHeader(t, "Cache-Control", "no-cache, no-store").
		expectHeader(t, "Access-Control-Expose-Headers", exposePluralRead)
	do(t, "HEAD", recs, "").expect(t, 200, "").
		expectHeader(t, "Total-Records", "3").expectHeader(t, "Total-Objects", "3").
		expectHeader(t, "Content-Length", "11")
	page := do(t, "GET", recs+"?_limit=1", "").expect(t, 200, `{"data":[`+rec3+`]}`)
	next := page.header.Get("Next-Page")
	if !strings.HasPrefix(next, recs+"?_limit=1&_token=") {
		t.Fatalf("Next-Page = %q", next)
	}
	page = do(t, "GET", next, "").expect(t, 200, `{"data":[`+rec2+`]}`)
	page = do(t, "GET", page.header.Get("Next-Page"), "").expect(t, 200, `{"data":[`+rec1+`]}`).expectHeader(t, "Next-Page", "")
	do(t, "GET", recs+"?_sort=n", "").expect(t, 200, `{"data":[`+rec1+","+rec2+","+rec3+`]}`)
	do(t, "GET", fmt.Sprintf("%s?_since=%d", recs, ts1), "").expect(t, 200, `{"data":[`+rec3+","+rec2+`]}`)
	do(t, "GET", fmt.Sprintf(`%s?_since="%d"&_expected=42`, recs, ts1), "").expect(t, 200, `{"data":[`+rec3+","+rec2+`]}`)

	// [25]-[27] conditional list requests.
	do(t, "GET", recs, "", fmt.Sprintf(`If-None-Match: "%d"`, ts3)).expect(t, 304, "").
		expectHeader(t, "ETag", fmt.Sprintf(`"%d"`, ts3)).
		expectHeader(t, "Cache-Control", "no-cache, no-store")
	do(t, "GET", recs, "", `If-None-Match: "123"`).expectStatus(t, 200)
	do(t, "GET", recs, "", `If-Match: "123"`).
		expect(t, 412, `{"code":412,"errno":114,"error":"Precondition Failed","message":"Resource was modified meanwhile"}`)

	// [28]-[35] objects, preconditions and errors.
	do(t, "GET", recs+"/r1", "").expect(t, 200, fmt.Sprintf(`{"permissions":%s,"data":%s}`, anonWrite, rec1)).
		expectHeader(t, "Access-Control-Expose-Headers", exposeObjectRead)
	do(t, "GET", recs+"/r1", "", fmt.Sprintf(`If-None-Match: "%d"`, ts1)).expect(t, 304, "")
	do(t, "PATCH", recs+"/r1", `{"data":{"n":10}}`, `If-Match: "123"`).
		expect(t, 412, `{"code":412,"errno":114,"error":"Precondition Failed","message":"Resource was modified meanwhile","details":{"existing":`+rec1+`}}`)
	r = do(t, "PATCH", recs+"/r1", `{"data":{"n":10}}`, fmt.Sprintf(`If-Match: "%d"`, ts1))
	ts1b := r.etag(t)
	rec1b := fmt.Sprintf(`{"title":"one","n":10,"id":"r1","last_modified":%d}`, ts1b)
	r.expect(t, 200, fmt.Sprintf(`{"permissions":%s,"data":%s}`, anonWrite, rec1b))
	do(t, "PUT", recs+"/r1", `{"data":{"n":11}}`, "If-None-Match: *").
		expect(t, 412, `{"code":412,"errno":114,"error":"Precondition Failed","message":"Resource was modified meanwhile","details":{"existing":`+rec1b+`}}`)
	do(t, "GET", recs+"/nope", "").expect(t, 404, `{"code":404,"errno":110,"error":"Not Found","details":{"id":"nope","resource_name":"record"}}`)
	do(t, "PUT", recs+"/bad", `{"data":`).expect(t, 400, `{"code":400,"errno":107,"error":"Invalid parameters","message":"Invalid JSON: Parse error at offset 8: Invalid value.","details":[{"location":"body","name":"","description":"Invalid JSON: Parse error at offset 8: Invalid value."},{"location":"body","name":"","description":"Required"}]}`)
	do(t, "GET", recs+"/bad", "").expectStatus(t, 404)
	do(t, "GET", recs+"?_since=abc", "").expect(t, 400, `{"code":400,"errno":107,"error":"Invalid parameters","message":"_since in querystring: \"abc\" is not a number","details":[{"location":"querystring","name":"_since","description":"\"abc\" is not a number"}]}`)

	// [36]-[37] tombstones.
	r = do(t, "DELETE", recs+"/r3", "")
	tsDel := r.etag(t)
	tomb := fmt.Sprintf(`{"id":"r3","last_modified":%d,"deleted":true}`, tsDel)
	r.expect(t, 200, `{"data":`+tomb+`}`)
	do(t, "GET", fmt.Sprintf("%s?_since=%d", recs, ts1), "").expect(t, 200, `{"data":[`+tomb+","+rec1b+","+rec2+`]}`)
	do(t, "GET", recs, "").expect(t, 200, `{"data":[`+rec1b+","+rec2+`]}`)

	// [66]-[71] bucket, collections, deletion, unknown URL.
	do(t, "GET", v1+"/buckets/main/collections", "").
		expect(t, 200, fmt.Sprintf(`{"data":[{"title":"A","id":"a","last_modified":%d}]}`, collTS)).
		expectHeader(t, "ETag", fmt.Sprintf(`"%d"`, collTS))
	r = do(t, "DELETE", v1+"/buckets/main/collections/a", "")
	r.expect(t, 200, fmt.Sprintf(`{"data":{"id":"a","last_modified":%d,"deleted":true}}`, r.etag(t)))
	do(t, "GET", recs+"/r1", "").expect(t, 404, `{"code":404,"errno":111,"error":"Not Found","details":{"id":"a","resource_name":"collection"}}`)
	do(t, "PUT", v1+"/buckets/main/collections/a", `{}`).expectStatus(t, 201)
	do(t, "GET", recs, "").expect(t, 200, `{"data":[]}`)
	do(t, "GET", v1+"/nope", "").expect(t, 404, `{"code":404,"errno":111,"error":"Not Found","message":"The resource you are looking for could not be found."}`)
	do(t, "GET", s.URL()+"/v2/buckets", "").expect(t, 404, `{"code":404,"errno":116,"error":"Not Found","message":"The requested API version is not available on this server."}`)
	do(t, "PUT", recs, "{}").expect(t, 405, `{"code":405,"errno":115,"error":"Method Not Allowed","message":"Method not allowed on this endpoint."}`).
		expectHeader(t, "Allow", "DELETE, GET, HEAD, OPTIONS, POST")
}

func httpDate(ts int64) string {
	return time.UnixMilli(ts).UTC().Format(http.TimeFormat)
}
