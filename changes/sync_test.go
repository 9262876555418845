package changes

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/changegate/changegate/internal/handlertest"
	"github.com/changegate/changegate/kinto"
)

// sharedSource is a fakeSource that other writers share: their events
// reach subscribers only when Sync relays them, as a listener would.
type sharedSource struct {
	*fakeSource
	pending []kinto.Event
	err     error
}

func (s *sharedSource) Sync(context.Context) error {
	if s.err != nil {
		return s.err
	}
	for _, ev := range s.pending {
		s.deliver(ev)
	}
	s.pending = nil
	return nil
}

// TestSyncBeforeServing: the collection changeset, the monitor changeset
// and the monitor's records list show a write another writer committed
// before the request, although its event had not arrived and the older
// answers were cached; when the source cannot sync, they answer 503.
func TestSyncBeforeServing(t *testing.T) {
	k := kinto.Key{Bucket: "b", Collection: "c"}
	src := &sharedSource{fakeSource: &fakeSource{timestamps: map[kinto.Key]int64{k: 10}}}
	state, err := NewState(src, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := NewHandler(monitored(DefaultConfig(), "/buckets/b"), state, publicAccess{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string) *httptest.ResponseRecorder {
		w := httptest.NewRecorder()
		handlertest.Answers(h, w, httptest.NewRequest("GET", "/v1"+path, nil))
		return w
	}
	paths := map[string]string{
		"/buckets/b/collections/c/changeset?_expected=0":             `"timestamp":%d,`,
		"/buckets/monitor/collections/changes/changeset?_expected=0": `"last_modified":%d,"bucket":"b","collection":"c"`,
		"/buckets/monitor/collections/changes/records":               `"last_modified":%d,"bucket":"b","collection":"c"`,
	}
	for ts := int64(10); ts <= 30; ts += 10 {
		if ts > 10 {
			src.pending = append(src.pending, src.commit(k, ts))
		}
		for p, want := range paths {
			w := get(p)
			if w.Code != 200 || !strings.Contains(w.Body.String(), fmt.Sprintf(want, ts)) {
				t.Fatalf("GET %s after a write at %d: %d %s", p, ts, w.Code, w.Body)
			}
		}
	}
	src.err = errors.New("listener lost")
	for p := range paths {
		if w := get(p); w.Code != 503 || !strings.Contains(w.Body.String(), `"errno":201`) {
			t.Fatalf("GET %s when the source cannot sync: %d %s", p, w.Code, w.Body)
		}
	}
}
