package integration

import (
	"fmt"
	"testing"

	"github.com/changegate/changegate/internal/testserver"
)

// parityCaddyfile is Caddyfile.example's chain in front of a docstore
// with the permissions endpoint and the changes plugin, whose monitor
// lists every collection as the upstream plugin does.
const parityCaddyfile = changesGlobal + `:{port} {
	conditional
	changes {
		resources /buckets/main
		http_host 127.0.0.1:8888
		monitor_visibility all
	}
	docstore {
		storage bolt {dir}/data.db
		userid_hmac_secret test-secret-of-16-bytes
		permissions_endpoint
	}
}
`

// TestParityObjectFields: GET of one object with _fields keeps id,
// last_modified and the named fields, and no permissions (Kinto
// projects the stored object, permissions included).
func TestParityObjectFields(t *testing.T) {
	s := testserver.Start(t, parityCaddyfile)
	v1 := s.URL() + "/v1"
	changesCreate(t, v1, "main", "a")
	put := do(t, "PUT", v1+"/buckets/main/collections/a/records/r1", `{"data":{"title":"one","n":1,"other":true}}`, basic("alice")).expectStatus(t, 201)
	ts := put.etag(t)
	do(t, "GET", v1+"/buckets/main/collections/a/records/r1?_fields=title,n", "", basic("alice")).
		expect(t, 200, fmt.Sprintf(`{"data":{"id":"r1","last_modified":%d,"n":1,"title":"one"}}`, ts)).
		expectHeaders(t, "ETag", quoted(ts), "Content-Type", "application/json")
	do(t, "GET", v1+"/buckets/main/collections/a/records/r1?_fields=absent", "", basic("alice")).
		expect(t, 200, fmt.Sprintf(`{"data":{"id":"r1","last_modified":%d}}`, ts))
}

// TestParityMonitorBehindConditional: the monitor list answers 200
// {"data":[]} to a matching If-None-Match (the changes plugin's rule);
// conditional in front must not turn it into a 304.
func TestParityMonitorBehindConditional(t *testing.T) {
	s := testserver.Start(t, parityCaddyfile)
	v1 := s.URL() + "/v1"
	changesCreate(t, v1, "main", "a")
	do(t, "POST", v1+"/buckets/main/collections/a/records", `{"data":{}}`, basic("alice")).expectStatus(t, 201)
	etag := do(t, "GET", v1+monitorRecords, "").expectStatus(t, 200).header.Get("ETag")
	do(t, "GET", v1+monitorRecords, "", "If-None-Match: "+etag).expect(t, 200, `{"data":[]}`).
		expectHeaders(t, "ETag", etag)
	// A record still revalidates to 304: the docstore says so itself.
	rec := do(t, "PUT", v1+"/buckets/main/collections/a/records/r1", `{"data":{}}`, basic("alice")).expectStatus(t, 201)
	do(t, "GET", v1+"/buckets/main/collections/a/records/r1", "", basic("alice"), "If-None-Match: "+quoted(rec.etag(t))).expect(t, 304, "")
}

// TestParityPermissionsEndpoint: Kinto's listing, as its transcript
// shows it: explicit entries only, each with the permissions it implies
// on itself, by descending uri, with ETag and Last-Modified.
func TestParityPermissionsEndpoint(t *testing.T) {
	s := testserver.Start(t, parityCaddyfile)
	v1 := s.URL() + "/v1"
	changesCreate(t, v1, "main", "a")
	do(t, "PUT", v1+"/buckets/main/collections/a/records/r1", `{"data":{}}`, basic("alice")).expectStatus(t, 201)
	do(t, "PUT", v1+"/buckets/anon", `{}`, basic("alice")).expectStatus(t, 201)
	bob := userID("bob")
	do(t, "PATCH", v1+"/buckets/main/collections/a", `{"permissions":{"record:create":["`+bob+`"]}}`, basic("alice")).expectStatus(t, 200)
	do(t, "PUT", v1+"/buckets/main/collections/a/records/shared", `{"permissions":{"read":["`+bob+`"]}}`, basic("alice")).expectStatus(t, 201)

	r := do(t, "GET", v1+"/permissions", "", basic("alice")).expect(t, 200, `{"data":[`+
		`{"uri":"/buckets/main/collections/a/records/shared","resource_name":"record","permissions":["read","write"],"bucket_id":"main","collection_id":"a","id":"shared","record_id":"shared"},`+
		`{"uri":"/buckets/main/collections/a/records/r1","resource_name":"record","permissions":["read","write"],"bucket_id":"main","collection_id":"a","id":"r1","record_id":"r1"},`+
		`{"uri":"/buckets/main/collections/a","resource_name":"collection","permissions":["read","write","record:create","read:attributes"],"bucket_id":"main","id":"a","collection_id":"a"},`+
		`{"uri":"/buckets/main","resource_name":"bucket","permissions":["read","write","group:create","collection:create","read:attributes"],"id":"main","bucket_id":"main"},`+
		`{"uri":"/buckets/anon","resource_name":"bucket","permissions":["read","write","group:create","collection:create","read:attributes"],"id":"anon","bucket_id":"anon"},`+
		`{"uri":"/","resource_name":"root","permissions":["bucket:create"]}]}`).
		expectHeaders(t, "Cache-Control", "no-cache, no-store",
			"Access-Control-Expose-Headers", "Last-Modified, Backoff, Cache-Control, Next-Page, ETag, Pragma, Expires, Content-Length, Retry-After, Content-Type, Alert")
	if r.etag(t) <= 0 || r.header.Get("Last-Modified") == "" {
		t.Fatalf("ETag %q Last-Modified %q", r.header.Get("ETag"), r.header.Get("Last-Modified"))
	}
	// bob holds explicit entries on the collection and one record only:
	// records he reaches through record:create are not listed.
	do(t, "GET", v1+"/permissions", "", basic("bob")).expect(t, 200, `{"data":[`+
		`{"uri":"/buckets/main/collections/a/records/shared","resource_name":"record","permissions":["read"],"bucket_id":"main","collection_id":"a","id":"shared","record_id":"shared"},`+
		`{"uri":"/buckets/main/collections/a","resource_name":"collection","permissions":["record:create","read:attributes"],"bucket_id":"main","id":"a","collection_id":"a"},`+
		`{"uri":"/","resource_name":"root","permissions":["bucket:create"]}]}`)
	do(t, "GET", v1+"/permissions?resource_name=bucket", "", basic("bob")).expect(t, 200, `{"data":[]}`)
}

// TestParityJSONPatchInvalidOp: Kinto names the failing operation member.
func TestParityJSONPatchInvalidOp(t *testing.T) {
	s := testserver.Start(t, parityCaddyfile)
	v1 := s.URL() + "/v1"
	changesCreate(t, v1, "main", "a")
	rec := v1 + "/buckets/main/collections/a/records/r1"
	do(t, "PUT", rec, `{"data":{"a":1}}`, basic("alice")).expectStatus(t, 201)
	do(t, "PATCH", rec, `[{"op":"add","path":"/data/b","value":2},{"op":"frobnicate","path":"/data/a"}]`, basic("alice"), "Content-Type: application/json-patch+json").
		expect(t, 400, `{"code":400,"errno":107,"error":"Invalid parameters","message":"1.op in body: \"frobnicate\" is not one of test, add, remove, replace, move, copy","details":[{"location":"body","name":"1.op","description":"\"frobnicate\" is not one of test, add, remove, replace, move, copy"}]}`)
	do(t, "PATCH", rec, `[{"path":"/data/a"}]`, basic("alice"), "Content-Type: application/json-patch+json").
		expect(t, 400, `{"code":400,"errno":107,"error":"Invalid parameters","message":"0.op in body: Required","details":[{"location":"body","name":"0.op","description":"Required"}]}`)
	do(t, "GET", rec, "", basic("alice")).expectStatus(t, 200).expectHeaders(t, "ETag", do(t, "HEAD", rec, "", basic("alice")).header.Get("ETag"))
}

// TestParityRedirectBodies: Kinto's 307s carry WebOb's page in the type
// the client accepts: JSON for kinto-http (Accept: application/json),
// HTML for a browser or curl. Unlike Kinto, the trailing-slash redirects
// carry a relative Location: they are cached for an hour, so they must
// not hold the request's Host.
func TestParityRedirectBodies(t *testing.T) {
	s := testserver.Start(t, parityCaddyfile)
	v1 := s.URL() + "/v1"
	const accept = "Accept: application/json"
	do(t, "GET", v1, "", accept).
		expect(t, 307, `{"message": "The resource has been moved to /v1/; you should be redirected automatically.\n\n", "code": "307 Temporary Redirect", "title": "Temporary Redirect"}`).
		expectHeaders(t, "Content-Type", "application/json", "Location", "/v1/", "Cache-Control", "max-age=3600")
	do(t, "GET", v1, "").
		expect(t, 307, "<html>\n <head>\n  <title>307 Temporary Redirect</title>\n </head>\n <body>\n  <h1>307 Temporary Redirect</h1>\n  The resource has been moved to /v1/; you should be redirected automatically.\n\n\n </body>\n</html>").
		expectHeaders(t, "Content-Type", "text/html; charset=UTF-8")
	do(t, "GET", v1+"/buckets/", "", "Accept: text/plain").
		expect(t, 307, "307 Temporary Redirect\n\nThe resource has been moved to /v1/buckets; you should be redirected automatically.\n\n").
		expectHeaders(t, "Content-Type", "text/plain; charset=UTF-8", "Location", "/v1/buckets")

	target := "https://127.0.0.1:8888/v1" + monitorChangeset + "?_expected=42"
	do(t, "GET", v1+monitorChangeset+`?_expected="42"`, "", accept).
		expect(t, 307, `{"message": "The resource has been moved to `+target+`; you should be redirected automatically.\n\n", "code": "307 Temporary Redirect", "title": "Temporary Redirect"}`).
		expectHeaders(t, "Content-Type", "application/json", "Location", target)
	target = "https://127.0.0.1:8888/v1" + monitorRecords
	do(t, "GET", v1+monitorRecords+"?_since=42", "", accept).
		expect(t, 307, `{"message": "The resource has been moved to `+target+`; you should be redirected automatically.\n\n", "code": "307 Temporary Redirect", "title": "Temporary Redirect"}`).
		expectHeaders(t, "Content-Type", "application/json", "Location", target, "Cache-Control", "max-age=86400")
}
