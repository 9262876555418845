package integration

import (
	"fmt"
	"strings"
	"testing"

	"github.com/changegate/changegate/internal/testserver"
)

func TestBatch(t *testing.T) {
	s := testserver.Start(t, standalone)
	v1 := s.URL() + "/v1"
	seed(t, v1)

	body := `{"defaults":{"method":"PUT","body":{"data":{"kind":"default"}}},"requests":[
		{"path":"/buckets/b/collections/c/records/x","body":{"data":{"n":1}}},
		{"path":"/v1/buckets/b/collections/c/records/y"},
		{"method":"PUT","path":"/buckets/b/collections/c/records/x","headers":{"If-None-Match":"*"}},
		{"method":"GET","path":"/buckets/b/collections/c/records/y"},
		{"method":"GET","path":"/buckets/nope"}]}`
	r := do(t, "POST", v1+"/batch", body).expectStatus(t, 200).json(t)
	resps := r["responses"].([]any)
	want := []struct {
		status, path string
	}{
		{"201", "/v1/buckets/b/collections/c/records/x"},
		{"201", "/v1/buckets/b/collections/c/records/y"},
		{"412", "/v1/buckets/b/collections/c/records/x"},
		{"200", "/v1/buckets/b/collections/c/records/y"},
		{"404", "/v1/buckets/nope"},
	}
	if len(resps) != len(want) {
		t.Fatalf("got %d responses, want %d", len(resps), len(want))
	}
	for i, w := range want {
		got := resps[i].(map[string]any)
		if fmt.Sprint(got["status"]) != w.status || got["path"] != w.path {
			t.Errorf("response %d: %v %v, want %s %s", i, got["status"], got["path"], w.status, w.path)
		}
	}
	x := resps[0].(map[string]any)["body"].(map[string]any)["data"].(map[string]any)
	if x["kind"] != "default" || fmt.Sprint(x["n"]) != "1" {
		t.Errorf("defaults body must be deep-merged into the request's own: %v", x)
	}
	y := resps[3].(map[string]any)["body"].(map[string]any)["data"].(map[string]any)
	if y["kind"] != "default" {
		t.Errorf("default body not applied: %v", y)
	}
	// The 412 did not roll back the writes before it.
	do(t, "GET", v1+"/buckets/b/collections/c/records/x", "").expectStatus(t, 200)

	var many []string
	for range 26 {
		many = append(many, `{"path":"/buckets"}`)
	}
	do(t, "POST", v1+"/batch", `{"requests":[`+strings.Join(many, ",")+`]}`).
		expect(t, 400, `{"code":400,"errno":107,"error":"Invalid parameters","message":"Number of requests is limited to 25","details":[{"location":"body","name":"requests","description":"Number of requests is limited to 25"}]}`)
	do(t, "POST", v1+"/batch", `{"requests":[{"path":"/batch"}]}`).
		expect(t, 400, `{"code":400,"errno":107,"error":"Invalid parameters","message":"requests in body: Recursive call on /batch endpoint is forbidden.","details":[{"location":"body","name":"requests","description":"Recursive call on /batch endpoint is forbidden."}]}`)
	do(t, "POST", v1+"/batch", `{"requests":[],"foo":1}`).expectStatus(t, 400)
	do(t, "POST", v1+"/batch", `{"requests":[{"method":"FOO","path":"/buckets"}]}`).expectStatus(t, 400)
	do(t, "GET", v1+"/batch", "").expectStatus(t, 405)
}

func TestPatchFlavours(t *testing.T) {
	s := testserver.Start(t, standalone)
	v1 := s.URL() + "/v1"
	seed(t, v1)
	rec := v1 + "/buckets/b/collections/c/records/r"
	do(t, "PUT", rec, `{"data":{"a":{"x":1,"y":2},"b":1}}`).expectStatus(t, 201)

	// Plain JSON: one level, nulls kept.
	r := do(t, "PATCH", rec, `{"data":{"a":{"x":5},"b":null}}`)
	r.expect(t, 200, fmt.Sprintf(`{"permissions":%s,"data":{"a":{"x":5},"b":null,"id":"r","last_modified":%d}}`, anonWrite, r.etag(t)))
	// Merge patch: recursive, nulls remove.
	r = do(t, "PATCH", rec, `{"data":{"a":{"y":7},"b":null}}`, "Content-Type: application/merge-patch+json")
	r.expect(t, 200, fmt.Sprintf(`{"permissions":%s,"data":{"a":{"x":5,"y":7},"id":"r","last_modified":%d}}`, anonWrite, r.etag(t)))
	// JSON Patch on data and permissions, as kinto.js sends it.
	r = do(t, "PATCH", rec, `[{"op":"add","path":"/data/c","value":3},{"op":"add","path":"/permissions/read/system.Everyone"}]`,
		"Content-Type: application/json-patch+json").expectStatus(t, 200)
	got := r.json(t)
	if fmt.Sprint(got["permissions"]) != "map[read:[system.Everyone] write:[system.Everyone]]" {
		t.Fatalf("permissions after JSON Patch: %v", got["permissions"])
	}
	if fmt.Sprint(got["data"].(map[string]any)["c"]) != "3" {
		t.Fatalf("data after JSON Patch: %v", got["data"])
	}
	// Response-Behavior.
	r = do(t, "PATCH", rec, `{"data":{"c":4,"d":1}}`, "Response-Behavior: light")
	r.expect(t, 200, `{"permissions":{"read":["system.Everyone"],"write":["system.Everyone"]},"data":{"c":4,"d":1}}`)
	do(t, "PATCH", rec, `{"data":{"c":4}}`, "Response-Behavior: light").
		expect(t, 200, `{"permissions":{"read":["system.Everyone"],"write":["system.Everyone"]},"data":{}}`)
	do(t, "PATCH", rec, `{}`).expect(t, 400, `{"code":400,"errno":107,"error":"Invalid parameters","message":"Provide at least one of data or permissions","details":[{"location":"body","name":"data","description":"Provide at least one of data or permissions"}]}`)
	do(t, "PATCH", rec, `{"data":{"id":"other"}}`).expectStatus(t, 400)
	do(t, "PATCH", v1+"/buckets/b/collections/c/records/missing", `{"data":{}}`).expectStatus(t, 404)
}

func TestBadInputLeavesStorageUntouched(t *testing.T) {
	s := testserver.Start(t, strings.Replace(standalone, "flush_endpoint", "max_body_size 1KB", 1))
	v1 := s.URL() + "/v1"
	seed(t, v1)
	recs := v1 + "/buckets/b/collections/c/records"
	do(t, "PUT", recs+"/keep", `{"data":{"v":1}}`).expectStatus(t, 201)
	before := do(t, "GET", recs, "").expectStatus(t, 200)

	cases := []struct {
		name, method, url, body string
		headers                 []string
		status                  int
		body0                   string
	}{
		{"invalid json", "PUT", recs + "/keep", `{"data":{"v":2}`, nil, 400, ""},
		{"data not object", "PUT", recs + "/keep", `{"data":[1]}`, nil, 400, ""},
		{"unknown field", "PUT", recs + "/keep", `{"data":{"v":2},"datta":{}}`, nil, 400,
			`{"code":400,"errno":107,"error":"Invalid parameters","message":"body: Unrecognized keys in mapping: \"{'datta': {}}\"","details":[{"location":"body","name":null,"description":"Unrecognized keys in mapping: \"{'datta': {}}\""}]}`},
		{"id mismatch", "PUT", recs + "/keep", `{"data":{"id":"other"}}`, nil, 400,
			`{"code":400,"errno":107,"error":"Invalid parameters","message":"Object id does not match existing object","details":[{"location":"body","name":"id","description":"Object id does not match existing object"}]}`},
		{"invalid id", "PUT", recs + "/a@b", `{}`, nil, 400,
			`{"code":400,"errno":107,"error":"Invalid parameters","message":"path: Invalid object id","details":[{"location":"path","name":null,"description":"Invalid object id"}]}`},
		{"bad precondition", "PUT", recs + "/keep", `{}`, []string{"If-Match: 12"}, 400,
			`{"code":400,"errno":107,"error":"Invalid parameters","message":"If-Match in header: The value should be integer between double quotes.","details":[{"location":"header","name":"If-Match","description":"The value should be integer between double quotes."}]}`},
		{"too large", "PUT", recs + "/keep", `{"data":{"v":"` + strings.Repeat("x", 2000) + `"}}`, nil, 413, ""},
		{"not acceptable", "GET", recs, "", []string{"Accept: text/plain"}, 406,
			`{"code":406,"errno":107,"error":"Invalid parameters","message":"Accept header should be one of ['application/json']","details":[{"location":"header","name":"Accept","description":"Accept header should be one of ['application/json']"}]}`},
		{"unsupported type", "PUT", recs + "/keep", `{}`, []string{"Content-Type: text/plain"}, 415,
			`{"code":415,"errno":107,"error":"Invalid parameters","message":"Content-Type header should be one of ['application/json']","details":[{"location":"header","name":"Content-Type","description":"Content-Type header should be one of ['application/json']"}]}`},
		{"bad filter", "GET", recs + "?_limit=abc", "", nil, 400, ""},
		{"bad sort", "DELETE", recs + "?_since=abc", "", nil, 400, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := do(t, c.method, c.url, c.body, c.headers...)
			if c.body0 != "" {
				r.expect(t, c.status, c.body0)
			}
			r.expectStatus(t, c.status).expectHeader(t, "Content-Type", "application/json")
			if errno := r.json(t)["errno"]; errno == nil {
				t.Fatalf("no errno in %s", r.body)
			}
		})
	}
	do(t, "GET", recs, "").expect(t, 200, before.body).expectHeader(t, "ETag", before.header.Get("ETag"))
}

func TestQueryStrings(t *testing.T) {
	s := testserver.Start(t, standalone)
	v1 := s.URL() + "/v1"
	seed(t, v1)
	recs := v1 + "/buckets/b/collections/c/records"
	for i, rec := range []string{
		`{"id":"a","n":1,"tag":"red","meta":{"size":10},"list":[1,2]}`,
		`{"id":"b","n":2,"tag":"blue","meta":{"size":20},"list":[3]}`,
		`{"id":"c","n":3,"tag":"reddish","list":[]}`,
	} {
		do(t, "PUT", recs+"/"+string(rune('a'+i)), `{"data":`+rec+`}`).expectStatus(t, 201)
	}
	ids := func(query string) string {
		t.Helper()
		r := do(t, "GET", recs+"?"+query, "").expectStatus(t, 200).json(t)
		var out []string
		for _, o := range r["data"].([]any) {
			out = append(out, o.(map[string]any)["id"].(string))
		}
		return strings.Join(out, ",")
	}
	for q, want := range map[string]string{
		"n=2":                               "b",
		"gt_n=1":                            "c,b",
		"min_n=2&max_n=2":                   "b",
		"lt_n=3&_sort=n":                    "a,b",
		"not_tag=red":                       "c,b",
		"in_id=a,c&_sort=id":                "a,c",
		"exclude_id=a":                      "c,b",
		"like_tag=red*":                     "c,a",
		"meta.size=20":                      "b",
		"has_meta=false":                    "c",
		"contains_list=3":                   "b",
		"contains_any_list=[1,3]&_sort=-id": "b,a",
		"_sort=-n":                          "c,b,a",
		"_sort=tag,n":                       "b,a,c",
	} {
		if got := ids(q); got != want {
			t.Errorf("?%s: got %s, want %s", q, got, want)
		}
	}
	r := do(t, "GET", recs+"?_fields=n&id=a", "").expectStatus(t, 200)
	if !strings.Contains(r.body, `"n":1`) || strings.Contains(r.body, "tag") || !strings.Contains(r.body, `"last_modified"`) {
		t.Errorf("_fields projection: %s", r.body)
	}
	// DELETE with a filter removes only the matches and returns tombstones.
	r = do(t, "DELETE", recs+"?tag=blue", "").expectStatus(t, 200)
	if !strings.Contains(r.body, `"id":"b"`) || !strings.Contains(r.body, `"deleted":true`) || strings.Contains(r.body, `"id":"a"`) {
		t.Fatalf("filtered DELETE: %s", r.body)
	}
	if got := ids(""); got != "c,a" {
		t.Fatalf("after DELETE ?tag=blue: %s", got)
	}
	// A paginated DELETE hands out a token that works exactly once.
	first := do(t, "DELETE", recs+"?_limit=1", "").expectStatus(t, 200)
	next := first.header.Get("Next-Page")
	if !strings.Contains(next, "_token=") {
		t.Fatalf("paginated DELETE without Next-Page: %v", first.header)
	}
	do(t, "DELETE", next, "").expectStatus(t, 200)
	do(t, "DELETE", next, "").expect(t, 400, `{"code":400,"errno":107,"error":"Invalid parameters","message":"querystring: _token was already used or has expired.","details":[{"location":"querystring","name":null,"description":"_token was already used or has expired."}]}`)
	if got := ids(""); got != "" {
		t.Fatalf("records left after paginated DELETE: %s", got)
	}
}

func TestResponseHeadersAndSettings(t *testing.T) {
	cfg := strings.Replace(standalone, "flush_endpoint", "backoff 30\n\t\teos 2999-01-01 \"Bye soon\" https://example.com/eol\n\t\tcors_origins https://*.example.com", 1)
	s := testserver.Start(t, cfg)
	v1 := s.URL() + "/v1"
	r := do(t, "GET", v1+"/buckets", "", "Origin: https://app.example.com").expectStatus(t, 200).
		expectHeader(t, "Backoff", "30").
		expectHeader(t, "Alert", `{"code":"soft-eol","message":"Bye soon","url":"https://example.com/eol"}`).
		expectHeader(t, "Access-Control-Allow-Origin", "https://app.example.com").
		expectHeader(t, "X-Content-Type-Options", "nosniff")
	if r.json(t)["data"] == nil {
		t.Fatalf("list body: %s", r.body)
	}
	do(t, "GET", v1+"/buckets", "", "Origin: https://evil.test").expectHeader(t, "Access-Control-Allow-Origin", "")
	if do(t, "GET", v1+"/", "").json(t)["eos"] != "2999-01-01" {
		t.Fatal("eos not shown at GET /v1/")
	}
	do(t, "POST", v1+"/__flush__", "").expectStatus(t, 404)

	gone := testserver.Start(t, strings.Replace(standalone, "flush_endpoint", "eos 2000-01-01", 1))
	do(t, "GET", gone.URL()+"/v1/buckets", "").
		expect(t, 410, `{"code":410,"errno":202,"error":"Gone","message":"The service you are trying to connect no longer exists at this location."}`).
		expectHeader(t, "Alert", `{"code":"hard-eol","message":"","url":"https://kinto.readthedocs.io/"}`)

	ro := testserver.Start(t, strings.Replace(standalone, "flush_endpoint", "readonly", 1))
	do(t, "PUT", ro.URL()+"/v1/buckets/x", "{}").expectStatus(t, 405)
}
