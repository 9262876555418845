package changes

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/changegate/changegate/docstore"
	"github.com/changegate/changegate/docstore/memory"
	"github.com/changegate/changegate/internal/handlertest"
	"github.com/changegate/changegate/kinto"
)

// fixture is the changes endpoints in front of a docstore on the memory
// engine, served the way the Caddy module chains them.
type fixture struct {
	t     testing.TB
	store *docstore.Store
	api   *docstore.Handler
	state *State
	h     *Handler
}

func newFixture(t testing.TB, cfg Config) *fixture {
	t.Helper()
	return newFixtureOn(t, memory.New(), cfg)
}

// newFixtureOn is newFixture over a given storage engine.
func newFixtureOn(t testing.TB, engine docstore.Engine, cfg Config) *fixture {
	t.Helper()
	store := docstore.NewStore(engine)
	api, err := docstore.NewHandler(store, docstore.Config{InsecureAllowAll: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	state, err := NewState(docstore.ChangeSource{Store: store}, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(state.Close)
	h, err := NewHandler(cfg, state, docstore.ChangeAccess{Handler: api}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, store: store, api: api, state: state, h: h}
}

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

// fakeSource is a Source whose events the test delivers by hand, in any
// order.
type fakeSource struct {
	mu         sync.Mutex
	timestamps map[kinto.Key]int64
	// records are each collection's changes, oldest first (addRecord).
	records map[kinto.Key][]fakeRecord
	subs    []func(kinto.Event)
}

// fakeRecord is one change a fakeSource serves.
type fakeRecord struct {
	lm   int64
	data json.RawMessage
}

func (s *fakeSource) Timestamps(context.Context) (map[kinto.Key]int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[kinto.Key]int64{}
	for k, v := range s.timestamps {
		out[k] = v
	}
	return out, nil
}

func (s *fakeSource) Changeset(_ context.Context, k kinto.Key, _ int64, _ int) (*kinto.Changeset, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts, ok := s.timestamps[k]
	if !ok {
		return &kinto.Changeset{}, nil
	}
	return &kinto.Changeset{Metadata: []byte(`{"id":"` + k.Collection + `","last_modified":1}`), MetadataTimestamp: 1, Timestamp: ts}, nil
}

func (s *fakeSource) ReadChanges(_ context.Context, k kinto.Key, q kinto.ChangesQuery) (*kinto.ChangesPage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ts, ok := s.timestamps[k]
	page := &kinto.ChangesPage{Exists: ok, Timestamp: ts}
	recs := slices.Clone(s.records[k])
	if q.Descending {
		slices.Reverse(recs)
	}
	for _, r := range recs {
		switch {
		case r.lm <= q.Since:
		case q.Limit > 0 && len(page.Changes) == q.Limit:
			page.Pending++
		default:
			page.Changes = append(page.Changes, r.data)
		}
	}
	return page, nil
}

// addRecord commits a record (or, deleted, a tombstone) at lm, which must
// be newer than the collection's other records, without telling
// subscribers yet.
func (s *fakeSource) addRecord(k kinto.Key, id string, lm int64, deleted bool) kinto.Event {
	data := fmt.Sprintf(`{"id":%q,"last_modified":%d}`, id, lm)
	if deleted {
		data = fmt.Sprintf(`{"id":%q,"last_modified":%d,"deleted":true}`, id, lm)
	}
	ev := s.commit(k, lm)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.records == nil {
		s.records = map[kinto.Key][]fakeRecord{}
	}
	recs := slices.DeleteFunc(s.records[k], func(r fakeRecord) bool { return strings.Contains(string(r.data), fmt.Sprintf(`"id":%q,`, id)) })
	s.records[k] = append(recs, fakeRecord{lm: lm, data: json.RawMessage(data)})
	return ev
}

func (s *fakeSource) Subscribe(fn func(kinto.Event)) func() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.subs = append(s.subs, fn)
	return func() {}
}

// commit stores a records timestamp without telling subscribers yet.
func (s *fakeSource) commit(k kinto.Key, ts int64) kinto.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.timestamps == nil {
		s.timestamps = map[kinto.Key]int64{}
	}
	s.timestamps[k] = ts
	return kinto.Event{Kind: kinto.KindRecord, Bucket: k.Bucket, Collection: k.Collection, Timestamp: ts}
}

// deliver tells subscribers about an event.
func (s *fakeSource) deliver(ev kinto.Event) {
	s.mu.Lock()
	subs := s.subs
	s.mu.Unlock()
	for _, fn := range subs {
		fn(ev)
	}
}

// publicAccess lets everyone read and adds no header.
type publicAccess struct{}

func (publicAccess) CanRead(*http.Request, kinto.Key) error   { return nil }
func (publicAccess) Decorate(*http.Request, int, http.Header) {}
func (publicAccess) EndOfService() bool                       { return false }
func (publicAccess) Anonymous(r *http.Request) bool           { return r.Header.Get("Authorization") == "" }
