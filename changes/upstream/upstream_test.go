package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/changegate/changegate/kinto"
)

var certs = kinto.Key{Bucket: "b", Collection: "c"}

// newTestSource is a Source over handler, not polling.
func newTestSource(t *testing.T, handler http.HandlerFunc, opts Options) *Source {
	t.Helper()
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	opts.URL = srv.URL + "/v1"
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// TestChangesetFollowsPages: the changeset is the collection object and
// every page of records, newest first, each page with the same ETag.
func TestChangesetFollowsPages(t *testing.T) {
	s := newTestSource(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"30"`)
		switch {
		case r.URL.Path == "/v1/buckets/b/collections/c":
			fmt.Fprint(w, `{"data":{"id":"c","last_modified":5,"title":"T"},"permissions":{}}`)
		case r.Header.Get("If-None-Match") == `"30"`:
			w.WriteHeader(http.StatusNotModified)
		case r.URL.Query().Get("_token") == "":
			if got := r.URL.RawQuery; got != "_since=10&_sort=-last_modified" {
				t.Errorf("first page query %q", got)
			}
			w.Header().Set("Next-Page", "http://elsewhere:1/v1/buckets/b/collections/c/records?_token=x")
			fmt.Fprint(w, `{"data":[{"id":"r3","last_modified":30},{"id":"r2","last_modified":20,"deleted":true}]}`)
		default:
			fmt.Fprint(w, `{"data":[{"id":"r1","last_modified":11}]}`)
		}
	}, Options{})
	cs, err := s.Changeset(context.Background(), certs, 10, 0)
	if err != nil {
		t.Fatal(err)
	}
	var items []string
	for _, c := range cs.Changes {
		items = append(items, string(c))
	}
	got := fmt.Sprintf("%s %d %d [%s]", cs.Metadata, cs.MetadataTimestamp, cs.Timestamp, strings.Join(items, ","))
	want := `{"id":"c","last_modified":5,"title":"T"} 5 30 [{"id":"r3","last_modified":30},{"id":"r2","last_modified":20,"deleted":true},{"id":"r1","last_modified":11}]`
	if got != want {
		t.Fatalf("changeset\n got %s\nwant %s", got, want)
	}
}

// TestChangesetInconsistent: records that keep changing under the read
// give Kinto's 409 errno 122 with Retry-After, after a few attempts.
func TestChangesetInconsistent(t *testing.T) {
	var ts atomic.Int64
	s := newTestSource(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", fmt.Sprintf(`"%d"`, ts.Add(1)))
		if strings.HasSuffix(r.URL.Path, "/records") {
			fmt.Fprint(w, `{"data":[]}`)
			return
		}
		fmt.Fprint(w, `{"data":{"id":"c","last_modified":1}}`)
	}, Options{})
	_, err := s.Changeset(context.Background(), certs, 0, 0)
	var ke *kinto.Error
	if !errors.As(err, &ke) || ke.Code != 409 || ke.Errno != kinto.ErrnoConstraintViolated || ke.Header().Get("Retry-After") != "3" {
		t.Fatalf("error %v (%#v)", err, ke)
	}
	// Each attempt: collection, records, the conditional check.
	if n := ts.Load(); n != 3*consistentAttempts {
		t.Fatalf("%d upstream requests, want %d", n, 3*consistentAttempts)
	}
}

// TestObserveBatch: a batch answer tells record writes and deletions of
// collections by their bodies.
func TestObserveBatch(t *testing.T) {
	s := newTestSource(t, func(w http.ResponseWriter, r *http.Request) {}, Options{})
	var mu sync.Mutex
	var got []string
	s.Subscribe(func(ev kinto.Event) {
		mu.Lock()
		got = append(got, fmt.Sprintf("%s %s/%s %d %t", ev.Kind, ev.Bucket, ev.Collection, ev.Timestamp, ev.Deleted))
		mu.Unlock()
	})
	body := `{"responses":[
		{"status":201,"path":"/v1/buckets/b/collections/c/records/r1","headers":{"ETag":"\"40\""},"body":{"data":{"id":"r1","last_modified":40}}},
		{"status":412,"path":"/v1/buckets/b/collections/c/records/r2","headers":{},"body":{"code":412}},
		{"status":200,"path":"/v1/buckets/b/collections/c/records/r0","headers":{},"body":{"data":{"id":"r0","last_modified":41,"deleted":true}}},
		{"status":200,"path":"/v1/buckets/b/collections/gone","headers":{},"body":{"data":{"id":"gone","last_modified":42,"deleted":true}}}]}`
	s.Observe("/v1", "POST", "/v1/batch", 200, http.Header{}, []byte(body), true)
	want := "record b/c 40 false|record b/c 41 true|collection b/gone 42 true"
	if strings.Join(got, "|") != want {
		t.Fatalf("events\n got %s\nwant %s", strings.Join(got, "|"), want)
	}
	if !Observes("/v1", "POST", "/v1/batch") || Observes("/v1", "GET", "/v1/buckets/b") || Observes("/v1", "PUT", "/v2/buckets/b") {
		t.Fatal("Observes picks the wrong requests")
	}
}

// TestPollBacksOff: an upstream answering 503 is marked unavailable,
// polled less and less often, and marked back when it answers.
func TestPollBacksOff(t *testing.T) {
	var calls atomic.Int64
	var down atomic.Bool
	down.Store(true)
	s := newTestSource(t, func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("ETag", `"7"`)
		fmt.Fprint(w, `{"data":[]}`)
	}, Options{Resources: []string{"/buckets/b/collections/c", "/buckets/b/collections/d"}, PollInterval: 20 * time.Millisecond, MaxBackoff: 160 * time.Millisecond, PollConcurrency: 1})
	s.Start()
	time.Sleep(time.Second)
	if s.Unavailable().IsZero() {
		t.Fatal("the upstream is not marked unavailable")
	}
	// 20+40+80+160+160... ms (±20%): about 8 rounds in a second, one
	// request each (a round stops at its first failure, and one poll is
	// in flight at a time); without backoff it would be 100 requests.
	if n := calls.Load(); n > 12 {
		t.Fatalf("%d requests to an unavailable upstream in 1s", n)
	}
	down.Store(false)
	deadline := time.Now().Add(time.Second)
	for !s.Unavailable().IsZero() {
		if time.Now().After(deadline) {
			t.Fatal("the upstream is still marked unavailable")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDecorateWhileDown: while the upstream is away, answers say so in a
// field that cross-origin browser code may read.
func TestDecorateWhileDown(t *testing.T) {
	s := newTestSource(t, func(w http.ResponseWriter, r *http.Request) {}, Options{CORSOrigins: []string{"https://app.example"}})
	since := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	s.health.down(since)
	r := httptest.NewRequest(http.MethodGet, "/v1/buckets/monitor/collections/changes/changeset", nil)
	r.Header.Set("Origin", "https://app.example")
	hd := http.Header{"Access-Control-Expose-Headers": {"Backoff, Alert"}}
	s.Access().Decorate(r, http.StatusOK, hd)
	want := http.Header{
		"Access-Control-Expose-Headers":    {"Backoff, Alert, Changegate-Upstream"},
		"Access-Control-Allow-Origin":      {"https://app.example"},
		"Access-Control-Allow-Credentials": {"true"},
		"Vary":                             {"Origin"},
		"Changegate-Upstream":              {"unavailable; since=2026-11-22T07:00:00Z"},
	}
	if !reflect.DeepEqual(hd, want) {
		t.Fatalf("headers %v, want %v", hd, want)
	}
}

// TestConcurrentUse runs the poller, observed writes, permission checks
// and changeset reads at once (for the race detector).
func TestConcurrentUse(t *testing.T) {
	var ts atomic.Int64
	ts.Store(100)
	s := newTestSource(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", fmt.Sprintf(`"%d"`, ts.Load()))
		switch {
		case strings.HasSuffix(r.URL.Path, "/collections"):
			fmt.Fprint(w, `{"data":[{"id":"c"},{"id":"d"}]}`)
		case strings.HasSuffix(r.URL.Path, "/records"):
			fmt.Fprint(w, `{"data":[{"id":"r","last_modified":100}]}`)
		default:
			fmt.Fprint(w, `{"data":{"id":"c","last_modified":1}}`)
		}
	}, Options{Resources: []string{"/buckets/b"}, PollInterval: 5 * time.Millisecond, RelistInterval: 10 * time.Millisecond, AuthCacheTTL: time.Millisecond})
	var events atomic.Int64
	s.Subscribe(func(kinto.Event) { events.Add(1) })
	s.Start()
	var wg sync.WaitGroup
	stop := time.Now().Add(300 * time.Millisecond)
	for i := range 4 {
		wg.Go(func() {
			for time.Now().Before(stop) {
				switch i {
				case 0:
					n := ts.Add(1)
					s.Observe("/v1", "PUT", "/v1/buckets/b/collections/c/records/r", 200, http.Header{},
						fmt.Appendf(nil, `{"data":{"id":"r","last_modified":%d}}`, n), true)
				case 1:
					r := httptest.NewRequest("GET", "/v1/buckets/b/collections/c/changeset", nil)
					if err := s.Access().CanRead(r, certs); err != nil {
						t.Error(err)
						return
					}
				default:
					if _, err := s.Changeset(context.Background(), certs, 0, 0); err != nil && !strings.Contains(err.Error(), "409") {
						t.Error(err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if events.Load() == 0 {
		t.Fatal("no events")
	}
}

// TestReadChanges: oldest first with tombstones (_since even at 0), a
// limit that leaves a Next-Page gives Pending counted by the upstream
// (HEAD, Total-Records) or -1 when not asked for, and a missing
// collection does not exist.
func TestReadChanges(t *testing.T) {
	s := newTestSource(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "/nope/") {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"code":404,"errno":111,"error":"Not Found"}`)
			return
		}
		w.Header().Set("ETag", `"9"`)
		if r.Header.Get("If-None-Match") == `"9"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if r.Method == http.MethodHead {
			if got := r.URL.RawQuery; got != "_since=0" {
				t.Errorf("HEAD query %q", got)
			}
			w.Header().Set("Total-Records", "5")
			return
		}
		if got := r.URL.RawQuery; got != "_limit=2&_since=0&_sort=last_modified" {
			t.Errorf("query %q", got)
		}
		w.Header().Set("Next-Page", "http://x/v1/buckets/b/collections/c/records?_token=t")
		fmt.Fprint(w, `{"data":[{"id":"a","last_modified":5,"deleted":true},{"id":"b","last_modified":9}]}`)
	}, Options{})
	page, err := s.ReadChanges(context.Background(), certs, kinto.ChangesQuery{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprintf("%t %d %d %s", page.Exists, page.Timestamp, page.Pending, page.Changes); got != `true 9 3 [{"id":"a","last_modified":5,"deleted":true} {"id":"b","last_modified":9}]` {
		t.Fatalf("page %s", got)
	}
	page, err = s.ReadChanges(context.Background(), certs, kinto.ChangesQuery{Limit: 2, NoPending: true})
	if err != nil || page.Pending != -1 {
		t.Fatalf("NoPending: pending %d, %v", page.Pending, err)
	}
	page, err = s.ReadChanges(context.Background(), kinto.Key{Bucket: "b", Collection: "nope"}, kinto.ChangesQuery{})
	if err != nil || page.Exists {
		t.Fatalf("missing collection: %+v %v", page, err)
	}
}

// TestSnapshot: a feed read keeps the changes its first page's ETag
// covers and leaves the newer ones (written meanwhile) for the next read.
func TestSnapshot(t *testing.T) {
	l := &listing{exists: true, etag: 7, items: []json.RawMessage{
		json.RawMessage(`{"id":"a","last_modified":5}`),
		json.RawMessage(`{"id":"b","last_modified":7,"deleted":true}`),
		json.RawMessage(`{"id":"c","last_modified":9}`),
	}}
	l.snapshot()
	if got := fmt.Sprintf("%s %t", l.items, l.more); got != `[{"id":"a","last_modified":5} {"id":"b","last_modified":7,"deleted":true}] true` {
		t.Fatalf("snapshot %s", got)
	}
}
