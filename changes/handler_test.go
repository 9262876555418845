package changes

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/changegate/changegate/docstore"
	"github.com/changegate/changegate/internal/handlertest"
	"github.com/changegate/changegate/kinto"
)

// TestChangesEntryID checks the reference's two hard-coded entry ids
// (test_utils.py).
func TestChangesEntryID(t *testing.T) {
	if got := EntryID("", "a", "b"); got != "9527d115-6191-fa49-a530-8fbfc4997755" {
		t.Errorf("got %s", got)
	}
	if got := EntryID("https://localhost:443", "a", "b"); got != "fa48a96d-1600-f561-8645-3395acb08a5a" {
		t.Errorf("got %s", got)
	}
}

func monitored(cfg Config, resources ...string) Config {
	cfg.Resources = resources
	return cfg
}

func TestMonitorChangesetEntries(t *testing.T) {
	cfg := monitored(DefaultConfig(), "/buckets/main", "/buckets/other/collections/x")
	cfg.HTTPHost = "h"
	cfg.ExcludedCollections = []string{"/buckets/main/collections/excluded"}
	f := newFixture(t, cfg)
	for _, c := range []string{"/buckets/main", "/buckets/main/collections/a", "/buckets/main/collections/b",
		"/buckets/main/collections/excluded", "/buckets/main-other", "/buckets/main-other/collections/a",
		"/buckets/other", "/buckets/other/collections/x", "/buckets/other/collections/xy"} {
		f.ok("PUT", "/v1"+c, "{}")
	}
	for _, c := range []string{"main/collections/b", "main/collections/excluded", "other/collections/x",
		"main-other/collections/a", "other/collections/xy", "main/collections/a"} {
		time.Sleep(2 * time.Millisecond) // distinct timestamps, for a known order
		f.ok("POST", "/v1/buckets/"+c+"/records", `{"data":{}}`)
	}
	snap := f.state.registry.Snapshot()
	ts := map[string]int64{}
	for _, e := range snap.Entries {
		ts[e.Bucket+"/"+e.Collection] = e.Timestamp
	}
	entry := func(b, c string) string {
		return fmt.Sprintf(`{"id":"%s","last_modified":%d,"bucket":"%s","collection":"%s","host":"h"}`, EntryID("h", b, c), ts[b+"/"+c], b, c)
	}
	// The collection URI matches by prefix (so other/xy too), the bucket
	// URI with its trailing slash (not main-other).
	all := []string{entry("main", "a"), entry("other", "xy"), entry("other", "x"), entry("main", "b")}
	body := func(entries ...string) string {
		return fmt.Sprintf(`{"metadata":{"bucket":"monitor"},"timestamp":%d,"changes":[%s]}`, ts["main/a"], strings.Join(entries, ","))
	}
	m := "/v1/buckets/monitor/collections/changes/changeset?_expected=0"
	handlertest.Expect(t, f.do("GET", m, ""), 200, body(all...))
	handlertest.Expect(t, f.do("GET", m+"&_limit=1", ""), 200, body(all[0]))
	handlertest.Expect(t, f.do("GET", m+"&_limit=0", ""), 200, body(all...))
	handlertest.Expect(t, f.do("GET", m+fmt.Sprintf("&_since=%d", ts["other/x"]), ""), 200, body(all[:2]...))
	handlertest.Expect(t, f.do("GET", m+fmt.Sprintf(`&_since="%d"`, ts["main/a"]), ""), 200, body())
	handlertest.Expect(t, f.do("GET", m+"&bucket=other", ""), 200, body(all[1:3]...))
	handlertest.Expect(t, f.do("GET", m+"&bucket=other&collection=x", ""), 200, body(all[2]))
	handlertest.Expect(t, f.do("GET", m+"&collection=b&_limit=5", ""), 200, body(all[3]))

	// Deleting a collection removes its entry.
	f.ok("DELETE", "/v1/buckets/main/collections/b", "")
	handlertest.Expect(t, f.do("GET", m, ""), 200, body(all[:3]...))
	f.ok("DELETE", "/v1/buckets/other", "")
	handlertest.Expect(t, f.do("GET", m, ""), 200, body(all[0]))
}

// TestMonitorSinceLateEvents: a poller following timestamp → _since
// must not miss a change whose event arrives after a newer one (or whose
// collection's clock lags another's).
func TestMonitorSinceLateEvents(t *testing.T) {
	a, b := kinto.Key{Bucket: "b", Collection: "a"}, kinto.Key{Bucket: "b", Collection: "b"}
	src := &fakeSource{timestamps: map[kinto.Key]int64{a: 50}}
	state, err := NewState(src, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg := monitored(DefaultConfig(), "/buckets/b")
	cfg.SinceMaxAgeDays = -1
	h, err := NewHandler(cfg, state, publicAccess{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	get := func(query string) string {
		w := httptest.NewRecorder()
		handlertest.Answers(h, w, httptest.NewRequest("GET", "/v1/buckets/monitor/collections/changes/changeset?_expected=0"+query, nil))
		return w.Body.String()
	}
	evA := src.commit(a, 100) // committed first...
	src.deliver(src.commit(b, 101))
	if got := get(""); !strings.Contains(got, `"timestamp":101,`) || strings.Contains(got, `"last_modified":100`) {
		t.Fatalf("first poll: %s", got)
	}
	src.deliver(evA) // ...delivered last
	got := get("&_since=101")
	if !strings.Contains(got, `"last_modified":100,"bucket":"b","collection":"a"`) {
		t.Fatalf("late change missed: %s", got)
	}
	// A _since this view never answered gets the plain filter.
	if got := get("&_since=102"); !strings.HasSuffix(got, `"changes":[]}`) {
		t.Fatalf("_since=102: %s", got)
	}
	// Same through the legacy list.
	w := httptest.NewRecorder()
	handlertest.Answers(h, w, httptest.NewRequest("GET", "/v1/buckets/monitor/collections/changes/records?_since=101&collection=a", nil))
	if !strings.Contains(w.Body.String(), `"collection":"a"`) {
		t.Fatalf("records: %s", w.Body)
	}
}

func TestBroadcastPreviewIgnored(t *testing.T) {
	src := &fakeSource{}
	state, _ := NewState(src, 0, nil)
	h, _ := NewHandler(monitored(DefaultConfig(), "/buckets/main", "/buckets/main-preview"), state, publicAccess{}, nil)
	src.deliver(src.commit(kinto.Key{Bucket: "main-preview", Collection: "cid"}, 3000))
	src.deliver(src.commit(kinto.Key{Bucket: "main", Collection: "cid-preview"}, 2000))
	src.deliver(src.commit(kinto.Key{Bucket: "main", Collection: "cid"}, 1000))
	w := httptest.NewRecorder()
	handlertest.Answers(h, w, httptest.NewRequest("GET", "/v1/__broadcasts__", nil))
	handlertest.Expect(t, w, 200, `{"broadcasts":{"remote-settings/monitor_changes":"\"1000\""},"code":200}`)
}

// countingSource counts changeset reads, and among them the reads of
// changes since a timestamp.
type countingSource struct {
	kinto.Source
	reads, deltas atomic.Int64
	gate          chan struct{}
}

func (s *countingSource) Changeset(ctx context.Context, k kinto.Key, since int64, limit int) (*kinto.Changeset, error) {
	s.reads.Add(1)
	if since > 0 && since < 1<<62 {
		s.deltas.Add(1)
	}
	if s.gate != nil {
		<-s.gate
	}
	return s.Source.Changeset(ctx, k, since, limit)
}

// TestChangesetReadOncePerChange: a hot collection is read from storage
// once per change however many clients ask, concurrently or not.
func TestChangesetReadOncePerChange(t *testing.T) {
	f := newFixture(t, DefaultConfig())
	f.ok("PUT", "/v1/buckets/main", "{}")
	f.ok("PUT", "/v1/buckets/main/collections/a", "{}")
	f.ok("POST", "/v1/buckets/main/collections/a/records", `{"data":{"n":1}}`)
	src := &countingSource{Source: docstore.ChangeSource{Store: f.store}}
	state, err := NewState(src, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer state.Close()
	f.h, _ = NewHandler(DefaultConfig(), state, docstore.ChangeAccess{Handler: f.api}, nil)
	cs := "/v1/buckets/main/collections/a/changeset?_expected=1"

	first := f.do("GET", cs, "")
	if first.Code != 200 || first.Header().Get("Cache-Status") != "changegate; fwd=miss; stored" {
		t.Fatalf("first: %d %v", first.Code, first.Header())
	}
	for range 10 {
		w := f.do("GET", cs, "")
		handlertest.Expect(t, w, 200, first.Body.String())
		if w.Header().Get("Cache-Status") != "changegate; hit" {
			t.Fatalf("not a hit: %v", w.Header())
		}
	}
	if n := src.reads.Load(); n != 1 {
		t.Fatalf("%d storage reads, want 1", n)
	}

	// A write: the next request reads again, all concurrent ones share it.
	f.ok("POST", "/v1/buckets/main/collections/a/records", `{"data":{"n":2}}`)
	src.gate = make(chan struct{})
	var wg sync.WaitGroup
	bodies := make([]string, 20)
	for i := range bodies {
		wg.Go(func() { bodies[i] = f.do("GET", cs, "").Body.String() })
	}
	handlertest.Eventually(t, func() bool { return src.reads.Load() == 2 })
	close(src.gate)
	wg.Wait()
	src.gate = nil
	if n := src.reads.Load(); n != 2 {
		t.Fatalf("%d storage reads, want 2", n)
	}
	for _, b := range bodies {
		if b != bodies[0] || !strings.Contains(b, `"n":2`) {
			t.Fatalf("bodies differ or stale: %s", b)
		}
	}
	if st := state.CacheStats(); st.Hits < 10 || st.Entries != 2 {
		t.Fatalf("stats %+v", st)
	}
}

func TestChangesetRoutes(t *testing.T) {
	f := newFixture(t, DefaultConfig())
	tests := []struct {
		method, path string
		ours         bool
	}{
		{"GET", "/v1/buckets/b/collections/c/changeset", true},
		{"HEAD", "/v1/buckets/monitor/collections/changes/records", true},
		{"POST", "/v1/__broadcasts__", true},
		{"OPTIONS", "/v1/buckets/b/collections/c/changeset", false},
		{"GET", "/v1/buckets/b/collections/c/records", false},
		{"GET", "/v1/buckets/b/collections/c/changeset/x", false},
		{"GET", "/v1/buckets/b/collections//changeset", false},
		{"GET", "/v2/buckets/b/collections/c/changeset", false},
		{"GET", "/v1/buckets/monitor/collections/changes", false},
	}
	for _, tt := range tests {
		if got := handlertest.Answers(f.h, httptest.NewRecorder(), httptest.NewRequest(tt.method, tt.path, nil)); got != tt.ours {
			t.Errorf("%s %s: served %v, want %v", tt.method, tt.path, got, tt.ours)
		}
	}
	w := f.do("POST", "/v1/buckets/main/collections/a/changeset?_expected=1", "")
	handlertest.Expect(t, w, 405, `{"code":405,"errno":115,"error":"Method Not Allowed","message":"Method not allowed on this endpoint."}`)
	if w.Header().Get("Allow") != "GET, HEAD, OPTIONS" || w.Header().Get("Access-Control-Expose-Headers") != "" {
		t.Fatalf("405 headers: %v", w.Header())
	}
	if w := f.do("HEAD", "/v1/buckets/monitor/collections/changes/changeset?_expected=0", ""); w.Code != http.StatusOK || w.Body.Len() != 0 || w.Header().Get("Content-Length") == "" {
		t.Fatalf("HEAD: %d %q %v", w.Code, w.Body, w.Header())
	}
}

// failingSource fails every changeset read.
type failingSource struct{ kinto.Source }

func (failingSource) Changeset(context.Context, kinto.Key, int64, int) (*kinto.Changeset, error) {
	return nil, errors.New("disk on fire")
}

// TestChangesetBackendError mirrors test_raises_original_backend_errors:
// a storage failure is Kinto's 503, with Retry-After.
func TestChangesetBackendError(t *testing.T) {
	f := newFixture(t, DefaultConfig())
	f.ok("PUT", "/v1/buckets/main", "{}")
	f.ok("PUT", "/v1/buckets/main/collections/a", "{}")
	state, err := NewState(failingSource{docstore.ChangeSource{Store: f.store}}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer state.Close()
	f.h, _ = NewHandler(DefaultConfig(), state, docstore.ChangeAccess{Handler: f.api}, nil)
	w := f.do("GET", "/v1/buckets/main/collections/a/changeset?_expected=1", "")
	handlertest.Expect(t, w, 503, `{"code":503,"errno":201,"error":"Service Unavailable","message":"Service temporary unavailable due to overloading or maintenance, please retry later."}`)
	if w.Header().Get("Retry-After") != "3" {
		t.Fatalf("headers %v", w.Header())
	}
}

// TestChangesetMergeIsExact: after every write, the full changeset built
// from the previous one and the changes since is byte for byte what a
// full read renders, with or without a limit, across record updates,
// deletions, a metadata change and the collection's re-creation.
func TestChangesetMergeIsExact(t *testing.T) {
	f := newFixture(t, DefaultConfig())
	src := &countingSource{Source: docstore.ChangeSource{Store: f.store}}
	state, err := NewState(src, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer state.Close()
	f.state = state
	f.h, _ = NewHandler(DefaultConfig(), state, docstore.ChangeAccess{Handler: f.api}, nil)
	f.ok("PUT", "/v1/buckets/main", "{}")
	f.ok("PUT", "/v1/buckets/main/collections/a", "{}")
	k := kinto.Key{Bucket: "main", Collection: "a"}
	rng := rand.New(rand.NewPCG(1, 2))
	records := "/v1/buckets/main/collections/a/records/"
	for i := range 600 {
		id := fmt.Sprintf("r%d", rng.IntN(30))
		switch n := rng.IntN(20); {
		case n == 0:
			f.ok("PATCH", "/v1/buckets/main/collections/a", fmt.Sprintf(`{"data":{"v":%d}}`, i))
		case n == 1 && i%7 == 0:
			f.ok("DELETE", "/v1/buckets/main/collections/a", "")
			f.ok("PUT", "/v1/buckets/main/collections/a", "{}")
		case n < 7:
			f.do("DELETE", records+id, "")
		default:
			f.ok("PUT", records+id, fmt.Sprintf(`{"data":{"i":%d}}`, i))
		}
		for _, limit := range []int{0, 10000, 12, 1} {
			q := fmt.Sprintf("?_expected=1&_limit=%d", limit)
			w := f.do("GET", "/v1/buckets/main/collections/a/changeset"+q, "")
			want, err := f.state.fullChangeset(k, 0, max(limit, 0), false)
			if err != nil {
				t.Fatal(err)
			}
			if w.Code != 200 || w.Body.String() != string(want.body) {
				t.Fatalf("step %d limit %d:\n got %d %s\nwant %s", i, limit, w.Code, w.Body, want.body)
			}
		}
	}
	if merges := src.deltas.Load(); merges < 1500 {
		t.Fatalf("only %d changesets were merged", merges)
	}
}
