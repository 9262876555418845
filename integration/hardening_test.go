package integration

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/changegate/changegate/internal/testserver"
)

// hardenedCaddyfile is a standalone service with permissions on (no
// insecure_allow_all), pretty in front, the default limits and a small
// body limit; %s goes into the docstore block.
const hardenedCaddyfile = changesGlobal + `:{port} {
	method_override
	pretty
	changes {
		resources /buckets/main
	}
	docstore {
		storage bolt %s
		userid_hmac_secret test-secret-of-16-bytes
		max_body_size 64KB
	}
}
`

// startHardened starts hardenedCaddyfile with its bolt file at path
// ("" for the server's own directory) and creates bucket b, collection
// c and record r as alice, anonymous readers allowed on b.
func startHardened(t *testing.T, path string) (*testserver.Server, string) {
	t.Helper()
	if path == "" {
		path = "{dir}/data.db"
	}
	s := testserver.Start(t, fmt.Sprintf(hardenedCaddyfile, path))
	v1 := s.URL() + "/v1"
	do(t, "PUT", v1+"/buckets/b", `{"permissions":{"read":["system.Everyone"]}}`, basic("alice")).expectStatus(t, 201)
	do(t, "PUT", v1+"/buckets/b/collections/c", "{}", basic("alice")).expectStatus(t, 201)
	do(t, "PUT", v1+"/buckets/b/collections/c/records/r", `{"data":{"v":1}}`, basic("alice")).expectStatus(t, 201)
	return s, v1
}

// invalid107 is Kinto's 400 errno 107 body for one nameless body detail.
func invalid107(desc string) string {
	return fmt.Sprintf(`{"code":400,"errno":107,"error":"Invalid parameters","message":"body: %s","details":[{"location":"body","name":null,"description":"%s"}]}`, desc, desc)
}

// nested is a record body whose data nests to levels in all.
func nested(levels int) string {
	return `{"data":{"a":` + strings.Repeat("[", levels-2) + strings.Repeat("]", levels-2) + `}}`
}

// TestHardeningDepth: bodies nested deeper than max_depth (default 100)
// are refused with 400 errno 107 naming the limit, directly, in a batch
// and as a JSON Patch; nothing is stored.
func TestHardeningDepth(t *testing.T) {
	_, v1 := startHardened(t, "")
	recs := v1 + "/buckets/b/collections/c/records"
	before := do(t, "GET", recs, "").expectStatus(t, 200)
	tooDeep := invalid107("JSON nested deeper than the limit of 100 levels (max_depth)")
	// The campaign's record: 9,000 nested arrays.
	do(t, "PUT", recs+"/bomb", `{"data":{"a":`+strings.Repeat("[", 9000)+strings.Repeat("]", 9000)+`}}`, basic("alice")).expect(t, 400, tooDeep)
	do(t, "PUT", recs+"/deep", nested(101), basic("alice")).expect(t, 400, tooDeep)
	do(t, "POST", v1+"/batch", `{"requests":[{"method":"PUT","path":"/buckets/b/collections/c/records/deep","body":`+nested(101)+`}]}`, basic("alice")).expect(t, 400, tooDeep)
	do(t, "PATCH", recs+"/r", `[{"op":"add","path":"/data/a","value":`+strings.Repeat("[", 99)+strings.Repeat("]", 99)+`}]`,
		basic("alice"), "Content-Type: application/json-patch+json").expect(t, 400, tooDeep)
	do(t, "GET", recs, "").expect(t, 200, before.body).expectHeader(t, "ETag", before.header.Get("ETag"))
	// At the limit, in a batch as directly.
	do(t, "PUT", recs+"/deep", nested(100), basic("alice")).expectStatus(t, 201)
	r := do(t, "POST", v1+"/batch", `{"requests":[{"method":"PUT","path":"/buckets/b/collections/c/records/deep2","body":`+nested(100)+`}]}`, basic("alice")).expectStatus(t, 200)
	if !strings.Contains(r.body, `"status":201`) {
		t.Fatalf("batch at the limit: %s", r.body)
	}
}

// TestHardeningPrettyBound: pretty in front of any upstream sends a body
// whose indentation would exceed max_ratio × its size (default 8) or
// max_output (default 64 MiB) compact, as it came, instead of the
// campaign's 324 MB answer to 18 KB of nested arrays.
func TestHardeningPrettyBound(t *testing.T) {
	bomb := strings.Repeat("[", 9000) + strings.Repeat("]", 9000)
	doc := `{"a":[1,2],"b":{"c":"d"}}`
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := doc
		if r.URL.Path == "/bomb" {
			body = bomb
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		io.WriteString(w, body)
	}))
	t.Cleanup(api.Close)
	base := startSidecar(t, mannersGlobal+`:{port} {
	pretty
	reverse_proxy {upstream}
}
`, api).URL()
	start := time.Now()
	for range 3 {
		do(t, "GET", base+"/bomb?pretty", "").expect(t, 200, bomb)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("three bounded answers took %s", d)
	}
	do(t, "GET", base+"/doc?pretty", "").expect(t, 200, "{\n    \"a\": [\n        1,\n        2\n    ],\n    \"b\": {\n        \"c\": \"d\"\n    }\n}")

	small := startSidecar(t, mannersGlobal+`:{port} {
	pretty {
		max_output 40
	}
	reverse_proxy {upstream}
}
`, api).URL()
	do(t, "GET", small+"/doc?pretty", "").expect(t, 200, doc)
	ratio := startSidecar(t, mannersGlobal+`:{port} {
	pretty {
		max_ratio 1
	}
	reverse_proxy {upstream}
}
`, api).URL()
	do(t, "GET", ratio+"/doc?pretty", "").expect(t, 200, doc)
}

// TestHardeningFutureTimestamp: a client last_modified later than the
// server clock plus timestamp_tolerance (default 10 minutes) is refused
// with 400 errno 107 naming the field, directly and in a batch; the
// collection's timestamp does not move. Past values are kept (imports).
func TestHardeningFutureTimestamp(t *testing.T) {
	_, v1 := startHardened(t, "")
	recs := v1 + "/buckets/b/collections/c/records"
	before := do(t, "GET", recs, "").expectStatus(t, 200).etag(t)
	desc := "9000000000000000 is later than the server clock plus 10m0s (timestamp_tolerance)"
	want := fmt.Sprintf(`{"code":400,"errno":107,"error":"Invalid parameters","message":"data.last_modified in body: %s","details":[{"location":"body","name":"data.last_modified","description":"%s"}]}`, desc, desc)
	do(t, "PUT", recs+"/lm", `{"data":{"last_modified":9000000000000000}}`, basic("alice")).expect(t, 400, want)
	do(t, "PATCH", recs+"/r", `{"data":{"last_modified":9000000000000000}}`, basic("alice")).expect(t, 400, want)
	do(t, "POST", recs, `{"data":{"last_modified":9000000000000000}}`, basic("alice")).expect(t, 400, want)
	r := do(t, "POST", v1+"/batch", `{"requests":[{"method":"PUT","path":"/buckets/b/collections/c/records/lm","body":{"data":{"last_modified":9000000000000000}}}]}`, basic("alice")).expectStatus(t, 200)
	if !strings.Contains(r.body, `"status":400`) || !strings.Contains(r.body, desc) {
		t.Fatalf("batch: %s", r.body)
	}
	qdesc := "9000000000000000 is later than the server clock plus 10m0s (timestamp_tolerance)"
	do(t, "DELETE", recs+"/r?last_modified=9000000000000000", "", basic("alice")).
		expect(t, 400, fmt.Sprintf(`{"code":400,"errno":107,"error":"Invalid parameters","message":"last_modified in querystring: %s","details":[{"location":"querystring","name":"last_modified","description":"%s"}]}`, qdesc, qdesc))
	if after := do(t, "GET", recs, "").expectStatus(t, 200).etag(t); after != before {
		t.Fatalf("refused timestamps moved the collection from %d to %d", before, after)
	}
	do(t, "GET", recs+"/lm", "").expectStatus(t, 404)
	// Within the tolerance the client's value is kept, as Kinto does; so
	// is a past value on a new collection (an import).
	soon := time.Now().Add(5 * time.Minute).UnixMilli()
	if got := do(t, "PUT", recs+"/soon", fmt.Sprintf(`{"data":{"last_modified":%d}}`, soon), basic("alice")).expectStatus(t, 201).etag(t); got != soon {
		t.Fatalf("timestamp within tolerance: got %d, want %d", got, soon)
	}
	do(t, "PUT", v1+"/buckets/b/collections/imported", "{}", basic("alice")).expectStatus(t, 201)
	r = do(t, "PUT", v1+"/buckets/b/collections/imported/records/old", `{"data":{"last_modified":1000}}`, basic("alice")).expectStatus(t, 201)
	if !strings.Contains(r.body, `"last_modified":`) {
		t.Fatalf("import: %s", r.body)
	}
}

// TestHardeningInvalidUTF8: a body that is not UTF-8 is refused (Kinto
// answers 400) instead of being stored with U+FFFD.
func TestHardeningInvalidUTF8(t *testing.T) {
	_, v1 := startHardened(t, "")
	recs := v1 + "/buckets/b/collections/c/records"
	want := invalid107("Invalid JSON: the body is not valid UTF-8")
	do(t, "PUT", recs+"/u", "{\"data\":{\"t\":\"\xff\"}}", basic("alice")).expect(t, 400, want)
	do(t, "POST", v1+"/batch", "{\"requests\":[{\"method\":\"PUT\",\"path\":\"/buckets/b/collections/c/records/u\",\"body\":{\"data\":{\"t\":\"\xc3\"}}}]}", basic("alice")).expect(t, 400, want)
	do(t, "GET", recs+"/u", "").expectStatus(t, 404)
	do(t, "PUT", recs+"/u", `{"data":{"t":"é \ud83d\ude00"}}`, basic("alice")).expectStatus(t, 201)
}

// chunked sends body with Transfer-Encoding: chunked (no Content-Length),
// as Node's http and streaming Go clients do.
func chunked(t *testing.T, method, url, body string, headers ...string) result {
	t.Helper()
	pr, pw := io.Pipe()
	go func() {
		for i := 0; i < len(body); i += 1000 {
			pw.Write([]byte(body[i:min(i+1000, len(body))]))
		}
		pw.Close()
	}()
	req, err := http.NewRequest(method, url, pr)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return result{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

// TestHardeningChunkedBodies: bodies without Content-Length are read on
// every write route and in batch, up to max_body_size (413 errno 113
// beyond).
func TestHardeningChunkedBodies(t *testing.T) {
	s, v1 := startHardened(t, "")
	recs := v1 + "/buckets/b/collections/c/records"
	chunked(t, "PUT", recs+"/k", `{"data":{"v":"put"}}`, basic("alice")).expectStatus(t, 201)
	chunked(t, "PATCH", recs+"/k", `{"data":{"w":"patch"}}`, basic("alice")).expectStatus(t, 200)
	chunked(t, "POST", recs, `{"data":{"id":"p","v":"post"}}`, basic("alice")).expectStatus(t, 201)
	r := chunked(t, "POST", v1+"/batch", `{"requests":[{"method":"PUT","path":"/buckets/b/collections/c/records/q","body":{"data":{}}}]}`, basic("alice")).expectStatus(t, 200)
	if !strings.Contains(r.body, `"status":201`) {
		t.Fatalf("chunked batch: %s", r.body)
	}
	chunked(t, "PUT", recs+"/big", `{"data":{"v":"`+strings.Repeat("x", 70<<10)+`"}}`, basic("alice")).
		expect(t, 413, `{"code":413,"errno":113,"error":"Request Entity Too Large","message":"Request body too large (limit 64000 bytes)."}`)
	do(t, "GET", recs+"/big", "").expectStatus(t, 404)
	if got := do(t, "GET", recs+"/k", "").json(t)["data"].(map[string]any); got["v"] != "put" || got["w"] != "patch" {
		t.Fatalf("record after chunked writes: %v", got)
	}

	// curl -H 'Transfer-Encoding: chunked', on the wire.
	conn, err := net.Dial("tcp", strings.TrimPrefix(s.URL(), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprint(conn, "PUT /v1/buckets/b/collections/c/records/wire HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"+
		basic("alice")+"\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n2\r\n{}\r\n0\r\n\r\n")
	status, _ := bufio.NewReader(conn).ReadString('\n')
	if !strings.HasPrefix(status, "HTTP/1.1 201") {
		t.Fatalf("chunked PUT on the wire answered %q", status)
	}
}

// TestHardeningRedirectHost: the cacheable trailing-slash redirect never
// carries the request's Host (a shared cache would hand it to everyone),
// in the docstore, in the changes module with and without http_host, and
// in a sidecar in front of an upstream.
func TestHardeningRedirectHost(t *testing.T) {
	s, v1 := startHardened(t, "")
	evil := func(url string) result {
		t.Helper()
		req, err := http.NewRequest("GET", url, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = "evil.example"
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return result{status: resp.StatusCode, header: resp.Header, body: string(b)}
	}
	evil(v1+"/buckets/b/").expectStatus(t, 307).expectHeader(t, "Location", "/v1/buckets/b").expectHeader(t, "Cache-Control", "max-age=3600")
	evil(v1+"/buckets/?_limit=1").expectStatus(t, 307).expectHeader(t, "Location", "/v1/buckets?_limit=1")
	evil(s.URL()+"/v1").expectStatus(t, 307).expectHeader(t, "Location", "/v1/")
	// changes without http_host: the old-_since redirect is relative.
	r := evil(v1+monitorRecords+"?_since=42").expectStatus(t, 307).
		expectHeader(t, "Location", "/v1"+monitorRecords).expectHeader(t, "Cache-Control", "max-age=86400")
	if strings.Contains(r.body, "evil") {
		t.Fatalf("redirect body names the request's host: %s", r.body)
	}
	// changes with http_host: that host.
	_, cv1 := startChanges(t)
	req, _ := http.NewRequest("GET", cv1+monitorChangeset+`?_expected="42"`, nil)
	req.Host = "evil.example"
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("Location"); got != "https://www.kinto-storage.org/v1"+monitorChangeset+"?_expected=42" {
		t.Fatalf("Location with http_host: %q", got)
	}
	// A sidecar without http_host in front of this docstore.
	side := testserver.Start(t, changesGlobal+`:{port} {
	changes {
		resources /buckets/main
		upstream `+v1+` {
			poll_interval 1s
		}
	}
	reverse_proxy `+strings.TrimPrefix(s.URL(), "http://")+`
}
`)
	sv1 := side.URL() + "/v1"
	evil(sv1+"/buckets/b/").expectStatus(t, 307).expectHeader(t, "Location", "/v1/buckets/b")
	evil(sv1+monitorRecords+"?_since=42").expectStatus(t, 307).expectHeader(t, "Location", "/v1"+monitorRecords)
}

// TestHardeningMethodOverrideTwice: two X-HTTP-Method-Override headers
// are refused with 400 (the first no longer wins), on Kinto routes and
// in front of any upstream.
func TestHardeningMethodOverrideTwice(t *testing.T) {
	_, v1 := startHardened(t, "")
	rec := v1 + "/buckets/b/collections/c/records/r"
	before := do(t, "GET", rec, "").expectStatus(t, 200)
	twice := func(url string) result {
		t.Helper()
		req, err := http.NewRequest("POST", url, strings.NewReader(`{"data":{"v":2}}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Add("X-HTTP-Method-Override", "PATCH")
		req.Header.Add("X-HTTP-Method-Override", "DELETE")
		k, v, _ := strings.Cut(basic("alice"), ": ")
		req.Header.Set(k, v)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return result{status: resp.StatusCode, header: resp.Header, body: string(b)}
	}
	desc := "X-HTTP-Method-Override must be sent once"
	twice(rec).expect(t, 400, fmt.Sprintf(`{"code":400,"errno":107,"error":"Invalid parameters","message":"%s","details":[{"location":"header","name":"X-HTTP-Method-Override","description":"%s"}]}`, desc, desc))
	do(t, "GET", rec, "").expect(t, 200, before.body)

	api := startForeignAPI(t)
	base := startSidecar(t, mannersGlobal+`:{port} {
	method_override
	reverse_proxy {upstream}
}
`, api).URL()
	if r := twice(base + "/echo"); r.status != 400 || strings.Contains(r.body, `"method"`) {
		t.Fatalf("proxy with two overrides: %d %s", r.status, r.body)
	}
}

// boltModTime is the modification time of the bolt file: every commit,
// even of an empty transaction, rewrites a meta page.
func boltModTime(t *testing.T, path string) time.Time {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.ModTime()
}

// TestHardeningRefusedWritesDoNotCommit: anonymous and forbidden writes,
// invalid bodies, missing objects and failed preconditions leave the
// bolt file untouched (no commit, no fsync); one accepted write commits.
func TestHardeningRefusedWritesDoNotCommit(t *testing.T) {
	testserver.BoltOnly(t)
	s, v1 := startHardened(t, "")
	path := filepath.Join(s.Dir(), "data.db")
	recs := v1 + "/buckets/b/collections/c/records"
	time.Sleep(20 * time.Millisecond)
	before := boltModTime(t, path)
	for range 10 {
		do(t, "PUT", recs+"/x", `{"data":{}}`).expectStatus(t, 401)
		do(t, "POST", recs, `{"data":{}}`).expectStatus(t, 401)
		do(t, "DELETE", v1+"/buckets/b", "").expectStatus(t, 401)
		do(t, "PUT", recs+"/x", `{"data":{}}`, basic("bob")).expectStatus(t, 403)
		do(t, "PUT", recs+"/x", `{"data":[1]}`, basic("alice")).expectStatus(t, 400)
		do(t, "DELETE", recs+"/missing", "", basic("alice")).expectStatus(t, 404)
		do(t, "PATCH", recs+"/r", `{"data":{"v":2}}`, basic("alice"), `If-Match: "1"`).expectStatus(t, 412)
		do(t, "POST", v1+"/batch", `{"requests":[{"method":"PUT","path":"/buckets/b/collections/c/records/y","body":{"data":{}}}]}`).expectStatus(t, 200)
	}
	if after := boltModTime(t, path); !after.Equal(before) {
		t.Fatalf("refused writes committed: the bolt file changed at %s (was %s)", after, before)
	}
	do(t, "PUT", recs+"/x", `{"data":{}}`, basic("alice")).expectStatus(t, 201)
	if after := boltModTime(t, path); after.Equal(before) {
		t.Fatal("an accepted write left the bolt file untouched: the check above proves nothing")
	}
}

// mountTmpfs mounts a tmpfs of size bytes at a new directory, unmounted
// at the end of the test (after the servers started later have stopped).
func mountTmpfs(t *testing.T, size int) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", fmt.Sprintf("size=%d", size), "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("cannot mount a small tmpfs to fill (needs root): %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// fill writes zeros to path until the file system is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	chunk := make([]byte, 4096)
	for {
		if _, err := f.Write(chunk); err != nil {
			return
		}
	}
}

// TestHardeningStorageFull: with the disk full, writes answer Kinto's
// backend error (503 errno 201, Retry-After), the cause is logged once
// for the burst, reads go on, and writes work again once there is room,
// without a restart.
func TestHardeningStorageFull(t *testing.T) {
	dir := mountTmpfs(t, 4<<20)
	s, v1 := startHardened(t, filepath.Join(dir, "data.db"))
	recs := v1 + "/buckets/b/collections/c/records"
	filler := filepath.Join(dir, "filler")
	fill(t, filler)
	want := `{"code":503,"errno":201,"error":"Service Unavailable","message":"Service temporary unavailable due to overloading or maintenance, please retry later."}`
	big := `{"data":{"v":"` + strings.Repeat("x", 60000) + `"}}`
	failures := 0
	for i := range 20 {
		r := do(t, "PUT", fmt.Sprintf("%s/big%d", recs, i), big, basic("alice"))
		if r.status == 201 {
			continue // pages bolt had already allocated
		}
		r.expect(t, 503, want).expectHeader(t, "Retry-After", "3")
		failures++
	}
	if failures < 5 {
		t.Fatalf("only %d of 20 writes failed on a full disk", failures)
	}
	if n := strings.Count(s.Log(), "storage failure"); n != 1 {
		t.Fatalf("a burst of %d failures logged %d times:\n%s", failures, n, s.Log())
	}
	if !strings.Contains(s.Log(), "no space left on device") {
		t.Fatalf("the log does not say why:\n%s", s.Log())
	}
	do(t, "GET", recs+"/r", "").expectStatus(t, 200)
	do(t, "GET", recs, "").expectStatus(t, 200)
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	do(t, "PUT", recs+"/after", big, basic("alice")).expectStatus(t, 201)
	do(t, "GET", recs+"/after", "").expectStatus(t, 200)
}

// TestHardeningFutureTimestampSidecar: a sidecar refuses a far-future
// last_modified (year 2096) before it reaches an upstream that would keep
// it (here a changegate whose tolerance is set out of the way, as Kinto
// has none),
// directly and in a batch; the monitor never sees it.
func TestHardeningFutureTimestampSidecar(t *testing.T) {
	up := testserver.Start(t, changesGlobal+`:{port} {
	docstore {
		storage bolt {dir}/data.db
		userid_hmac_secret test-secret-of-16-bytes
		timestamp_tolerance 1000000h
	}
}
`)
	upV1 := up.URL() + "/v1"
	side := testserver.Start(t, changesGlobal+`:{port} {
	changes {
		resources /buckets/main
		upstream `+upV1+` {
			poll_interval 200ms
		}
	}
	reverse_proxy `+strings.TrimPrefix(up.URL(), "http://")+`
}
`)
	v1 := side.URL() + "/v1"
	do(t, "PUT", v1+"/buckets/main", `{"permissions":{"read":["system.Everyone"]}}`, basic("alice")).expectStatus(t, 201)
	do(t, "PUT", v1+"/buckets/main/collections/c", "{}", basic("alice")).expectStatus(t, 201)
	recs := v1 + "/buckets/main/collections/c/records"
	desc := "4000000000000 is later than the server clock plus 10m0s (timestamp_tolerance)"
	do(t, "PUT", recs+"/lm", `{"data":{"last_modified":4000000000000}}`, basic("alice")).
		expect(t, 400, fmt.Sprintf(`{"code":400,"errno":107,"error":"Invalid parameters","message":"data.last_modified in body: %s","details":[{"location":"body","name":"data.last_modified","description":"%s"}]}`, desc, desc))
	chunked(t, "POST", v1+"/batch", `{"requests":[{"method":"PUT","path":"/buckets/main/collections/c/records/lm","body":{"data":{"last_modified":4000000000000}}}]}`, basic("alice")).
		expectStatus(t, 400)
	do(t, "GET", upV1+"/buckets/main/collections/c/records/lm", "", basic("alice")).expectStatus(t, 404)
	// The upstream itself would have kept it: the refusal is the sidecar's.
	do(t, "PUT", upV1+"/buckets/main/collections/c/records/direct", `{"data":{"last_modified":4000000000000}}`, basic("alice")).expectStatus(t, 201)
	// Ordinary writes pass, body intact.
	r := do(t, "PUT", recs+"/ok", `{"data":{"v":"through"}}`, basic("alice")).expectStatus(t, 201)
	if !strings.Contains(r.body, `"v":"through"`) {
		t.Fatalf("write through the sidecar: %s", r.body)
	}
}
