package docstore_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/changegate/changegate/docstore"
	"github.com/changegate/changegate/docstore/memory"
	"github.com/changegate/changegate/kinto"
)

// failingEngine wraps the memory engine and fails any Put of an object
// whose id is "boom", as a disk error would.
type failingEngine struct{ *memory.Engine }

type failingTx struct{ docstore.Tx }

func (e failingEngine) Update(ctx context.Context, fn func(docstore.Tx) error) error {
	return e.Engine.Update(ctx, func(tx docstore.Tx) error { return fn(failingTx{tx}) })
}

func (t failingTx) Put(parent, kind string, obj *docstore.Object) error {
	if obj.ID == "boom" {
		return errors.New("disk on fire")
	}
	return t.Tx.Put(parent, kind, obj)
}

// newAPI serves the API over engine, with events recorded.
func newAPI(t *testing.T, engine docstore.Engine) (*docstore.Handler, *[]kinto.Event) {
	t.Helper()
	store := docstore.NewStore(engine)
	var mu sync.Mutex
	events := &[]kinto.Event{}
	store.Subscribe(func(ev kinto.Event) {
		mu.Lock()
		*events = append(*events, ev)
		mu.Unlock()
	})
	h, err := docstore.NewHandler(store, docstore.Config{InsecureAllowAll: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return h, events
}

func call(t *testing.T, h http.Handler, method, path, body string) *httptest.ResponseRecorder {
	t.Helper()
	req := httptest.NewRequest(method, "http://kinto.test"+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w
}

func mustStatus(t *testing.T, w *httptest.ResponseRecorder, status int) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status %d, want %d: %s", w.Code, status, w.Body)
	}
}

func TestBatchRollsBackOnServerError(t *testing.T) {
	h, _ := newAPI(t, failingEngine{memory.New()})
	mustStatus(t, call(t, h, "PUT", "/v1/buckets/b", "{}"), 201)
	mustStatus(t, call(t, h, "PUT", "/v1/buckets/b/collections/c", "{}"), 201)
	w := call(t, h, "POST", "/v1/batch", `{"requests":[
		{"method":"PUT","path":"/buckets/b/collections/c/records/ok"},
		{"method":"PUT","path":"/buckets/b/collections/c/records/boom"}]}`)
	// A storage failure is Kinto's backend error.
	mustStatus(t, w, 503)
	if !strings.Contains(w.Body.String(), `"errno":201`) || w.Header().Get("Retry-After") != "3" {
		t.Fatalf("503 answer: %v %s", w.Header(), w.Body)
	}
	mustStatus(t, call(t, h, "GET", "/v1/buckets/b/collections/c/records/ok", ""), 404)
	// A failing single write leaves nothing either, and the store goes on.
	mustStatus(t, call(t, h, "PUT", "/v1/buckets/b/collections/c/records/boom", "{}"), 503)
	mustStatus(t, call(t, h, "PUT", "/v1/buckets/b/collections/c/records/ok", "{}"), 201)
}

func TestEventsAndSeam(t *testing.T) {
	h, events := newAPI(t, memory.New())
	store := h.Store()
	mustStatus(t, call(t, h, "PUT", "/v1/buckets/b", "{}"), 201)
	mustStatus(t, call(t, h, "PUT", "/v1/buckets/b/collections/c", `{"data":{"title":"C"}}`), 201)
	mustStatus(t, call(t, h, "PUT", "/v1/buckets/b/collections/d", `{}`), 201)
	mustStatus(t, call(t, h, "PUT", "/v1/buckets/b/collections/c/records/r1", `{"data":{"v":1}}`), 201)
	w := call(t, h, "PUT", "/v1/buckets/b/collections/c/records/r2", `{"data":{"v":2}}`)
	mustStatus(t, w, 201)
	del := call(t, h, "DELETE", "/v1/buckets/b/collections/c/records/r1", "")
	mustStatus(t, del, 200)

	last := (*events)[len(*events)-1]
	if last.Kind != docstore.KindRecord || last.Bucket != "b" || last.Collection != "c" || last.ID != "r1" || !last.Deleted {
		t.Fatalf("last event: %+v", last)
	}
	ts, err := store.RecordsTimestamps(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	key := kinto.Key{Bucket: "b", Collection: "c"}
	if len(ts) != 1 || ts[key] != last.Timestamp {
		t.Fatalf("records timestamps %v, want only %v=%d", ts, key, last.Timestamp)
	}

	cs, err := store.ReadChangeset(context.Background(), "b", "c", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if cs.Timestamp != last.Timestamp || len(cs.Changes) != 1 || !strings.Contains(string(cs.Changes[0]), `"id":"r2"`) {
		t.Fatalf("changeset without since: %+v", cs)
	}
	if !strings.HasPrefix(string(cs.Metadata), `{"title":"C","id":"c"`) {
		t.Fatalf("metadata: %s", cs.Metadata)
	}
	cs, err = store.ReadChangeset(context.Background(), "b", "c", 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs.Changes) != 1 || !strings.Contains(string(cs.Changes[0]), `"deleted":true`) {
		t.Fatalf("changeset since 1, limit 1 must be the newest tombstone: %s", cs.Changes)
	}
	if cs, _ := store.ReadChangeset(context.Background(), "b", "nope", 0, 0); cs.Metadata != nil {
		t.Fatalf("unknown collection has metadata: %s", cs.Metadata)
	}

	// Deleting the collection removes its records timestamp.
	mustStatus(t, call(t, h, "DELETE", "/v1/buckets/b/collections/c", ""), 200)
	if ts, _ := store.RecordsTimestamps(context.Background()); len(ts) != 0 {
		t.Fatalf("timestamps after collection delete: %v", ts)
	}
}

// TestTimestampsStrictlyIncrease checks Kinto's timestamp rules, with our
// deviation: a client-supplied timestamp older than the list's is bumped,
// never kept, so that _since readers cannot miss the write.
func TestTimestampsStrictlyIncrease(t *testing.T) {
	h, _ := newAPI(t, memory.New())
	mustStatus(t, call(t, h, "PUT", "/v1/buckets/b", "{}"), 201)
	mustStatus(t, call(t, h, "PUT", "/v1/buckets/b/collections/c", "{}"), 201)
	recs := "/v1/buckets/b/collections/c/records/"
	// A client timestamp ahead of the clock but within the tolerance
	// (default 10 minutes) is kept.
	f := time.Now().Add(5 * time.Minute).UnixMilli()
	etag := func(ts int64) string { return `"` + strconv.FormatInt(ts, 10) + `"` }
	future := call(t, h, "PUT", recs+"f", `{"data":{"last_modified":`+strconv.FormatInt(f, 10)+`}}`)
	mustStatus(t, future, 201)
	if got := future.Header().Get("ETag"); got != etag(f) {
		t.Fatalf("future client timestamp not kept: %s", got)
	}
	old := call(t, h, "PUT", recs+"o", `{"data":{"last_modified":42}}`)
	if got := old.Header().Get("ETag"); got != etag(f+1) {
		t.Fatalf("old client timestamp must be bumped past the list: %s", got)
	}
	same := call(t, h, "PUT", recs+"s", `{"data":{"last_modified":`+strconv.FormatInt(f+1, 10)+`}}`)
	if got := same.Header().Get("ETag"); got != etag(f+2) {
		t.Fatalf("equal client timestamp must be bumped: %s", got)
	}
	str := call(t, h, "PUT", recs+"t", `{"data":{"last_modified":"soon"}}`)
	if got := str.Header().Get("ETag"); got != etag(f+3) || !strings.Contains(str.Body.String(), `"last_modified":`+strconv.FormatInt(f+3, 10)+`}`) {
		t.Fatalf("non-integer last_modified must be replaced: %s %s", got, str.Body)
	}

	var wg sync.WaitGroup
	seen := sync.Map{}
	for i := range 50 {
		wg.Go(func() {
			w := call(t, h, "POST", "/v1/buckets/b/collections/c/records", `{"data":{}}`)
			if _, dup := seen.LoadOrStore(w.Header().Get("ETag"), i); dup {
				t.Errorf("two writes got timestamp %s", w.Header().Get("ETag"))
			}
		})
	}
	wg.Wait()
}

func TestFlushDeletesEverything(t *testing.T) {
	store := docstore.NewStore(memory.New())
	h, err := docstore.NewHandler(store, docstore.Config{FlushEnabled: true, InsecureAllowAll: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	mustStatus(t, call(t, h, "PUT", "/v1/buckets/b", "{}"), 201)
	mustStatus(t, call(t, h, "PUT", "/v1/buckets/b/collections/c", "{}"), 201)
	mustStatus(t, call(t, h, "POST", "/v1/__flush__", ""), 202)
	mustStatus(t, call(t, h, "GET", "/v1/buckets/b", ""), 404)
	if w := call(t, h, "GET", "/v1/buckets", ""); w.Body.String() != `{"data":[]}` {
		t.Fatalf("buckets after flush: %s", w.Body)
	}
}

func TestCanReadCollection(t *testing.T) {
	store := docstore.NewStore(memory.New())
	h, err := docstore.NewHandler(store, docstore.Config{BasicAuth: true, UserIDHMACSecret: "s"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	as := func(method, path, body, user string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, "http://kinto.test"+path, strings.NewReader(body))
		if user != "" {
			req.SetBasicAuth(user, "pw")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		return w
	}
	mustStatus(t, as("PUT", "/v1/buckets/b", "{}", "alice"), 201)
	mustStatus(t, as("PUT", "/v1/buckets/b/collections/c", "{}", "alice"), 201)
	check := func(user, coll string) int {
		req := httptest.NewRequest("GET", "/", nil)
		if user != "" {
			req.SetBasicAuth(user, "pw")
		}
		caller, err := h.Identify(req)
		if err != nil {
			t.Fatal(err)
		}
		err = h.CanReadCollection(context.Background(), caller, "b", coll)
		if err == nil {
			return 200
		}
		return kinto.AsError(err).Code
	}
	for _, c := range []struct {
		user, coll string
		want       int
	}{{"alice", "c", 200}, {"alice", "nope", 404}, {"bob", "c", 403}, {"bob", "nope", 403}, {"", "c", 401}} {
		if got := check(c.user, c.coll); got != c.want {
			t.Errorf("%q reading b/%s: %d, want %d", c.user, c.coll, got, c.want)
		}
	}
}
