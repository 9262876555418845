package feeds

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/changegate/changegate/docstore"
	"github.com/changegate/changegate/docstore/bolt"
	"github.com/changegate/changegate/docstore/memory"
	"github.com/changegate/changegate/internal/handlertest"
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

// do serves one request through the handler, then the store; headers
// are "Name: value".
func (f *fixture) do(method, target, body string, headers ...string) *httptest.ResponseRecorder {
	f.t.Helper()
	return handlertest.Do(f.t, f.h, f.api, method, target, body, headers...)
}

// ok serves a write and fails the test on an error status.
func (f *fixture) ok(method, target, body string) {
	f.t.Helper()
	handlertest.OK(f.t, f.h, f.api, method, target, body)
}
