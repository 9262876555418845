package feeds

import (
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/changegate/changegate/internal/handlertest"
)

// TestFeedClientGone: listeners share one topic per collection, other
// collections' writes do not wake them, and a client that goes away
// leaves nothing behind (no listener, no goroutine).
func TestFeedClientGone(t *testing.T) {
	f := newFeedFixture(t)
	f.ok("PUT", "/v1/buckets/b/collections/other", "{}")
	srv := f.server()
	before := goleak.IgnoreCurrent()
	tr := &http.Transport{}
	client := &http.Client{Transport: tr}
	var resps []*http.Response
	for range 50 {
		resp, err := client.Get(srv.URL + feedColl + "/_changes?feed=longpoll&since=now")
		if err != nil {
			t.Fatal(err)
		}
		resps = append(resps, resp)
	}
	hub := f.hub
	if topics, listeners := hub.listeners(); topics != 1 || listeners != 50 {
		t.Fatalf("%d topics, %d listeners; want 1, 50", topics, listeners)
	}
	topic := hub.topics[Key{Bucket: "b", Collection: "c"}]
	_, gen := topic.wait()
	f.ok("POST", "/v1/buckets/b/collections/other/records", `{"data":{}}`)
	if _, now := topic.wait(); now != gen {
		t.Fatalf("a write to another collection woke the topic (%d → %d)", gen, now)
	}
	for _, resp := range resps {
		resp.Body.Close()
	}
	tr.CloseIdleConnections()
	handlertest.Eventually(t, func() bool { _, n := hub.listeners(); return n == 0 })
	goleak.VerifyNone(t, before)
}

// TestFeedShutdown: a config reload or shutdown ends live feeds cleanly,
// continuous with its last line.
func TestFeedShutdown(t *testing.T) {
	f := newFeedFixture(t)
	a := f.put("a", `{}`)
	srv := f.server()
	s := open(t, "GET", srv.URL+feedColl+"/_changes?feed=continuous&heartbeat=true", "")
	if got := s.line(); got != row("a", a, 1, false)+"\n" {
		t.Fatalf("row %q", got)
	}
	f.h.Shutdown()
	if got, want := s.rest(), fmt.Sprintf(`{"last_seq":"%d","pending":0}`, a)+"\n\n"; got != want {
		t.Fatalf("after shutdown %q want %q", got, want)
	}
}

// TestFeedSlowReader: a client that never reads its continuous feed
// blocks neither the writers nor the other listeners of the collection.
func TestFeedSlowReader(t *testing.T) {
	f := newFeedFixture(t)
	srv := f.server()
	slow, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fmt.Fprintf(slow, "GET %s/_changes?feed=continuous&since=now&include_docs=true&heartbeat=true HTTP/1.1\r\nHost: x\r\n\r\n", feedColl)
	fast := open(t, "GET", srv.URL+feedColl+"/_changes?feed=continuous&since=now&heartbeat=true", "")
	handlertest.Eventually(t, func() bool { _, n := f.hub.listeners(); return n == 2 })
	big := `{"pad":"` + strings.Repeat("x", 64<<10) + `"}`
	for i := range 200 {
		start := time.Now()
		f.put(fmt.Sprintf("r%03d", i), big)
		if d := time.Since(start); d > time.Second {
			t.Fatalf("write %d took %v", i, d)
		}
	}
	// 13 MB went to the slow client's socket, far more than its buffers
	// hold; the fast one still gets every row.
	for i := range 200 {
		line := fast.line()
		for line == "\n" {
			line = fast.line()
		}
		if want := fmt.Sprintf(`"id":"r%03d"`, i); !strings.Contains(line, want) {
			t.Fatalf("row %d: %.80q", i, line)
		}
	}
}
