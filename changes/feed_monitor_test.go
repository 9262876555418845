package changes

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/changegate/changegate/internal/handlertest"
	"github.com/changegate/changegate/kinto"
)

// newMonitorFeedFixture serves the monitor of /buckets/b over a source
// whose events the test delivers.
func newMonitorFeedFixture(t *testing.T) (*fakeSource, *Handler) {
	t.Helper()
	src := &fakeSource{}
	state, err := NewState(src, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(state.Close)
	h, err := NewHandler(monitored(DefaultConfig(), "/buckets/b"), state, publicAccess{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return src, h
}

// monitorIDs reads the monitor feed from since and returns the rows'
// collections and the last_seq.
func monitorIDs(t *testing.T, h *Handler, query string) ([]string, string) {
	t.Helper()
	f := &fixture{t: t, h: h}
	w := f.do("GET", "/v1/buckets/monitor/collections/changes/_changes?"+query, "")
	if w.Code != 200 {
		t.Fatalf("%s: %d %s", query, w.Code, w.Body)
	}
	var got []string
	for _, r := range gjson.Get(w.Body.String(), "results").Array() {
		if want := EntryID("", "b", r.Get("doc.collection").String()); r.Get("id").String() != want {
			t.Fatalf("row id %s, want %s", r.Get("id"), want)
		}
		got = append(got, fmt.Sprintf("%s@%d", r.Get("doc.collection"), r.Get("doc.last_modified").Int()))
	}
	return got, gjson.Get(w.Body.String(), "last_seq").String()
}

// TestMonitorFeedSameMillisecond: two collections changed in the same
// millisecond, and a collection whose clock lags, are each seen exactly
// once by a client resuming from every last_seq it was given.
func TestMonitorFeedSameMillisecond(t *testing.T) {
	src, h := newMonitorFeedFixture(t)
	k := func(c string) kinto.Key { return kinto.Key{Bucket: "b", Collection: c} }
	src.deliver(src.commit(k("x"), 100))
	got, seq := monitorIDs(t, h, "include_docs=true")
	if fmt.Sprint(got) != "[x@100]" {
		t.Fatalf("first read %v", got)
	}
	src.deliver(src.commit(k("y"), 200))
	got, seq2 := monitorIDs(t, h, "include_docs=true&since="+url.QueryEscape(seq))
	if fmt.Sprint(got) != "[y@200]" {
		t.Fatalf("after y: %v", got)
	}
	// z changes in y's millisecond, w with a lagging clock, both after
	// the client read seq2.
	src.deliver(src.commit(k("z"), 200))
	src.deliver(src.commit(k("w"), 150))
	got, seq3 := monitorIDs(t, h, "include_docs=true&limit=1&since="+url.QueryEscape(seq2))
	if fmt.Sprint(got) != "[z@200]" {
		t.Fatalf("same ms: %v", got)
	}
	got, seq4 := monitorIDs(t, h, "include_docs=true&since="+url.QueryEscape(seq3))
	if fmt.Sprint(got) != "[w@150]" {
		t.Fatalf("lagging clock: %v", got)
	}
	if got, _ := monitorIDs(t, h, "since="+url.QueryEscape(seq4)); len(got) != 0 {
		t.Fatalf("nothing new, got %v", got)
	}
	// The whole feed lists each collection once, in change order.
	if got, _ := monitorIDs(t, h, "include_docs=true"); fmt.Sprint(got) != "[x@100 y@200 z@200 w@150]" {
		t.Fatalf("all: %v", got)
	}
	// A seq of another process falls back to its timestamp, inclusive.
	if got, _ := monitorIDs(t, h, "include_docs=true&since="+url.QueryEscape(`"7-deadbeef.200"`)); fmt.Sprint(got) != "[y@200 z@200]" {
		t.Fatalf("foreign epoch: %v", got)
	}
	if _, seq := monitorIDs(t, h, "since=now"); seq != seq4 {
		t.Fatalf("since=now last_seq %s, want %s", seq, seq4)
	}
}

// TestMonitorFeedLongpoll: a longpoll on the monitor ignores collections
// it does not list and answers the first one it lists.
func TestMonitorFeedLongpoll(t *testing.T) {
	src, h := newMonitorFeedFixture(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handlertest.Answers(h, w, r) }))
	t.Cleanup(srv.Close)
	resp, err := http.Get(srv.URL + "/v1/buckets/monitor/collections/changes/_changes?feed=longpoll&since=now")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	body := bufio.NewReader(resp.Body)
	if got, _ := body.ReadString('\n'); got != "{\"results\":[\n" {
		t.Fatalf("first line %q", got)
	}
	src.deliver(src.commit(kinto.Key{Bucket: "other", Collection: "x"}, 100))
	got := make(chan string, 1)
	go func() {
		rest, _ := io.ReadAll(body)
		got <- string(rest)
	}()
	select {
	case body := <-got:
		t.Fatalf("answered for an unmonitored collection: %q", body)
	case <-time.After(200 * time.Millisecond):
	}
	src.deliver(src.commit(kinto.Key{Bucket: "b", Collection: "y"}, 50))
	select {
	case body := <-got:
		if !strings.Contains(body, fmt.Sprintf(`"id":"%s"`, EntryID("", "b", "y"))) || strings.Contains(body, EntryID("", "other", "x")) {
			t.Fatalf("body %q", body)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no answer for a monitored collection")
	}
}
