package feeds

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/changegate/changegate/docstore"
	"github.com/changegate/changegate/docstore/bolt"
	"github.com/changegate/changegate/docstore/memory"
	"github.com/changegate/changegate/internal/middleware"
)

// fixture is the feeds in front of a docstore on the memory engine,
// served the way the changes endpoints chain them, with the hub fed by
// the store's events.
type fixture struct {
	t     testing.TB
	store *docstore.Store
	api   *docstore.Handler
	hub   *Hub
	h     *Handler
}

// testPrefix is the version prefix of the fixtures.
const testPrefix = "/v1"

func newFixture(t testing.TB) *fixture {
	t.Helper()
	return newFixtureOn(t, memory.New())
}

// newFixtureOn is newFixture over a given storage engine.
func newFixtureOn(t testing.TB, engine docstore.Engine) *fixture {
	t.Helper()
	store := docstore.NewStore(engine)
	api, err := docstore.NewHandler(store, docstore.Config{InsecureAllowAll: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	hub := NewHub()
	t.Cleanup(store.Subscribe(hub.Publish))
	cfg := Config{Prefix: testPrefix, FeedTimeoutMax: DefaultFeedTimeoutMax, FeedHeartbeat: DefaultFeedHeartbeat}
	h := NewHandler(cfg, docstore.ChangeSource{Store: store}, hub, emptyMonitor{}, docstore.ChangeAccess{Handler: api}, nil)
	return &fixture{t: t, store: store, api: api, hub: hub, h: h}
}

// benchFixture is the feeds over a bbolt docstore, as in production.
func benchFixture(b *testing.B) *fixture {
	b.Helper()
	engine, err := bolt.Open(filepath.Join(b.TempDir(), "bench.db"), bolt.Options{Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = engine.Close() })
	return newFixtureOn(b, engine)
}

// emptyMonitor is a monitor that lists nothing (package changes tests
// the monitor feed with its views).
type emptyMonitor struct{}

func (emptyMonitor) Monitored(Key) bool { return false }

func (m emptyMonitor) Reader(*http.Request) (func() MonitorView, string) {
	return func() MonitorView { return m }, ""
}

func (emptyMonitor) Version() uint64           { return 0 }
func (emptyMonitor) Timestamp() int64          { return 0 }
func (emptyMonitor) Len() int                  { return 0 }
func (emptyMonitor) Entry(int) (uint64, int64) { return 0, 0 }
func (emptyMonitor) EntryJSON(int) []byte      { return nil }

// do serves one request; headers are "Name: value".
func (f *fixture) do(method, target, body string, headers ...string) *httptest.ResponseRecorder {
	f.t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	if !answers(f.h, w, r) {
		f.api.ServeHTTP(w, r)
	}
	return w
}

// ok serves a write and fails the test on an error status.
func (f *fixture) ok(method, target, body string) {
	f.t.Helper()
	if w := f.do(method, target, body); w.Code >= 300 {
		f.t.Fatalf("%s %s: %d %s", method, target, w.Code, w.Body)
	}
}

// expect checks status and exact body.
func expect(t testing.TB, w *httptest.ResponseRecorder, status int, body string) {
	t.Helper()
	if w.Code != status || w.Body.String() != body {
		t.Fatalf("got %d %s\nwant %d %s", w.Code, w.Body, status, body)
	}
}

// discard is a ResponseWriter that keeps nothing, for benchmarks.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

// eventually retries cond for a second.
func eventually(t testing.TB, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within a second")
}

// answers serves r with h and reports whether h answered it rather than
// passing it to the next handler (which does nothing).
func answers(h middleware.Handler, w http.ResponseWriter, r *http.Request) bool {
	passed := false
	_ = h.Serve(w, r, func(http.ResponseWriter, *http.Request) error {
		passed = true
		return nil
	})
	return !passed
}
