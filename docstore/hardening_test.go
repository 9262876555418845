package docstore_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/changegate/changegate/docstore"
	"github.com/changegate/changegate/docstore/memory"
)

// countingEngine counts the read-write transactions it is asked for.
type countingEngine struct {
	*memory.Engine
	updates atomic.Int64
}

func (e *countingEngine) Update(ctx context.Context, fn func(docstore.Tx) error) error {
	e.updates.Add(1)
	return e.Engine.Update(ctx, fn)
}

// TestRefusedWritesTakeNoWriteTransaction: 401, 403, 400, 404 and 412
// answers are decided without a read-write transaction (no commit, no
// fsync); a write that changes something takes exactly one.
func TestRefusedWritesTakeNoWriteTransaction(t *testing.T) {
	engine := &countingEngine{Engine: memory.New()}
	h, err := docstore.NewHandler(docstore.NewStore(engine), docstore.Config{BasicAuth: true, UserIDHMACSecret: "s"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	as := func(user, method, path, body string, headers ...string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "http://kinto.test"+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		for _, hd := range headers {
			k, v, _ := strings.Cut(hd, ": ")
			req.Header.Set(k, v)
		}
		if user != "" {
			req.SetBasicAuth(user, "pw")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	mustStatus(t, as("alice", "PUT", "/v1/buckets/b", "{}"), 201)
	mustStatus(t, as("alice", "PUT", "/v1/buckets/b/collections/c", "{}"), 201)
	mustStatus(t, as("alice", "PUT", "/v1/buckets/b/collections/c/records/r", `{"data":{}}`), 201)
	before := engine.updates.Load()
	recs := "/v1/buckets/b/collections/c/records"
	for _, c := range []struct {
		user, method, path, body string
		headers                  []string
		status                   int
	}{
		{"", "PUT", recs + "/x", `{"data":{}}`, nil, 401},
		{"", "POST", recs, `{"data":{}}`, nil, 401},
		{"", "DELETE", recs, "", nil, 401},
		{"", "PUT", "/v1/buckets/new", "{}", nil, 401},
		{"bob", "PUT", recs + "/x", `{"data":{}}`, nil, 403},
		{"bob", "DELETE", "/v1/buckets/b", "", nil, 403},
		{"alice", "PUT", recs + "/x", `{"data":[1]}`, nil, 400},
		{"alice", "DELETE", recs + "/missing", "", nil, 404},
		{"alice", "PATCH", recs + "/r", `{"data":{"a":1}}`, []string{`If-Match: "1"`}, 412},
		{"", "POST", "/v1/batch", `{"requests":[{"method":"PUT","path":"/buckets/b/collections/c/records/y"},{"method":"GET","path":"/buckets/b"}]}`, nil, 200},
	} {
		mustStatus(t, as(c.user, c.method, c.path, c.body, c.headers...), c.status)
	}
	if n := engine.updates.Load() - before; n != 0 {
		t.Fatalf("refused writes took %d write transactions, want 0", n)
	}
	mustStatus(t, as("alice", "PUT", recs+"/x", `{"data":{}}`), 201)
	if n := engine.updates.Load() - before; n != 1 {
		t.Fatalf("one accepted write took %d write transactions, want 1", n)
	}
}

// brokenEngine fails every write transaction, as a full disk does.
type brokenEngine struct{ *memory.Engine }

func (brokenEngine) Update(context.Context, func(docstore.Tx) error) error {
	return errFull
}

var errFull = &fsError{"write /data/changegate.db: no space left on device"}

type fsError struct{ msg string }

func (e *fsError) Error() string { return e.msg }

// TestStorageFailureIsBackendError: Kinto's 503 errno 201 with
// Retry-After, logged once for a burst; reads go on.
func TestStorageFailureIsBackendError(t *testing.T) {
	mem := memory.New()
	h, _ := newAPI(t, mem)
	mustStatus(t, call(t, h, "PUT", "/v1/buckets/b", "{}"), 201)
	var logs bytes.Buffer
	h, err := docstore.NewHandler(docstore.NewStore(brokenEngine{mem}), docstore.Config{InsecureAllowAll: true, RetryAfterSeconds: 7},
		slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		w := call(t, h, "PUT", "/v1/buckets/b/collections/c", "{}")
		want := `{"code":503,"errno":201,"error":"Service Unavailable","message":"Service temporary unavailable due to overloading or maintenance, please retry later."}`
		if w.Code != 503 || w.Body.String() != want || w.Header().Get("Retry-After") != "7" {
			t.Fatalf("storage failure answered %d %v %s", w.Code, w.Header(), w.Body)
		}
	}
	if n := strings.Count(logs.String(), "no space left on device"); n != 1 {
		t.Fatalf("a burst of 3 failures logged %d times:\n%s", n, logs.String())
	}
	mustStatus(t, call(t, h, "GET", "/v1/buckets/b", ""), 200)
}

// TestBodyLimits: depth, UTF-8 and future timestamps are refused with
// 400 errno 107 and nothing is stored.
func TestBodyLimits(t *testing.T) {
	h, events := newAPI(t, memory.New())
	mustStatus(t, call(t, h, "PUT", "/v1/buckets/b", "{}"), 201)
	mustStatus(t, call(t, h, "PUT", "/v1/buckets/b/collections/c", "{}"), 201)
	n := len(*events)
	deep := func(levels int) string {
		return `{"data":{"a":` + strings.Repeat("[", levels-2) + strings.Repeat("]", levels-2) + `}}`
	}
	rec := "/v1/buckets/b/collections/c/records/r"
	mustStatus(t, call(t, h, "PUT", rec, deep(100)), 201)
	n++
	for _, c := range []struct{ name, method, path, ctype, body, msg string }{
		{"deep", "PUT", rec, "", deep(101), "body: JSON nested deeper than the limit of 100 levels (max_depth)"},
		{"deep batch", "POST", "/v1/batch", "", `{"requests":[{"method":"PUT","path":"/buckets/b/collections/c/records/q","body":` + deep(101) + `}]}`, "limit of 100 levels"},
		{"deep json patch", "PATCH", rec, "application/json-patch+json", `[{"op":"add","path":"/data/b","value":` + strings.Repeat("[", 99) + strings.Repeat("]", 99) + `}]`, "limit of 100 levels"},
		{"deep json patch copy", "PATCH", rec, "application/json-patch+json", `[{"op":"copy","from":"/data","path":"/data/a/0"}]`, "limit of 100 levels"},
		{"utf-8", "PUT", rec, "", "{\"data\":{\"t\":\"\xff\"}}", "body: Invalid JSON: the body is not valid UTF-8"},
		{"future", "PUT", rec, "", `{"data":{"last_modified":9000000000000000}}`, "data.last_modified in body: 9000000000000000 is later than the server clock plus 10m0s (timestamp_tolerance)"},
		{"future patch", "PATCH", rec, "", `{"data":{"last_modified":9000000000000000}}`, "data.last_modified in body"},
		{"future delete", "DELETE", rec + "?last_modified=9000000000000000", "", "", "last_modified in querystring"},
	} {
		req := httptest.NewRequest(c.method, "http://kinto.test"+c.path, strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		if c.ctype != "" {
			req.Header.Set("Content-Type", c.ctype)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		body := w.Body.String()
		if w.Code != 400 || !strings.Contains(body, `"errno":107`) || !strings.Contains(body, c.msg) {
			t.Errorf("%s: %d %s", c.name, w.Code, body)
		}
	}
	if len(*events) != n {
		t.Fatalf("refused bodies changed storage: %v", (*events)[n:])
	}
}

// TestDeleteTokenOnceAcrossRuns: a write runs dry first, then for real;
// the one-time DELETE page token is consumed once per use all the same,
// and a second use in the same batch is refused.
func TestDeleteTokenOnceAcrossRuns(t *testing.T) {
	h, _ := newAPI(t, memory.New())
	mustStatus(t, call(t, h, "PUT", "/v1/buckets/b", "{}"), 201)
	mustStatus(t, call(t, h, "PUT", "/v1/buckets/b/collections/c", "{}"), 201)
	recs := "/v1/buckets/b/collections/c/records"
	for _, id := range []string{"a", "b", "c", "d"} {
		mustStatus(t, call(t, h, "PUT", recs+"/"+id, "{}"), 201)
	}
	next := func(w *httptest.ResponseRecorder) string {
		t.Helper()
		n := w.Header().Get("Next-Page")
		if n == "" {
			t.Fatalf("no Next-Page: %v %s", w.Header(), w.Body)
		}
		return strings.TrimPrefix(n, "http://kinto.test")
	}
	page := next(call(t, h, "DELETE", recs+"?_limit=1", ""))
	mustStatus(t, call(t, h, "DELETE", page, ""), 200)
	mustStatus(t, call(t, h, "DELETE", page, ""), 400)

	page = strings.TrimPrefix(next(call(t, h, "DELETE", recs+"?_limit=1", "")), "/v1")
	w := call(t, h, "POST", "/v1/batch", `{"requests":[{"method":"DELETE","path":"`+page+`"},{"method":"DELETE","path":"`+page+`"}]}`)
	mustStatus(t, w, 200)
	if !strings.Contains(w.Body.String(), `{"responses":[{"status":200,`) || !strings.Contains(w.Body.String(), `},{"status":400,`) {
		t.Fatalf("same token twice in a batch: %s", w.Body)
	}
}
