package feeds

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/changegate/changegate/internal/handlertest"
)

// rawFeed is a longpoll over one raw HTTP/1.1 connection, read past its
// headers and opening.
type rawFeed struct {
	t    testing.TB
	conn net.Conn
	resp *http.Response
	body chan string
}

// openRaw sends a request on a new connection and reads its headers and
// the longpoll's opening.
func openRaw(t testing.TB, srv *httptest.Server, method, target, body string) *rawFeed {
	t.Helper()
	req := fmt.Sprintf("%s %s HTTP/1.1\r\nHost: x\r\n", method, target)
	if body != "" {
		req += fmt.Sprintf("Content-Type: application/json\r\nContent-Length: %d\r\n", len(body))
	}
	return openRawBytes(t, srv, req+"\r\n"+body)
}

// openRawBytes is openRaw with the bytes to send, which may hold more
// than the longpoll's request.
func openRawBytes(t testing.TB, srv *httptest.Server, req string) *rawFeed {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if _, err := io.WriteString(conn, req); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	opening := make([]byte, len("{\"results\":[\n"))
	if _, err := io.ReadFull(resp.Body, opening); err != nil || string(opening) != "{\"results\":[\n" {
		t.Fatalf("opening %q: %v", opening, err)
	}
	rf := &rawFeed{t: t, conn: conn, resp: resp, body: make(chan string, 1)}
	go func() {
		b, err := io.ReadAll(resp.Body)
		if err == nil {
			// The server closes the connection after the answer.
			if n, rerr := br.Read(make([]byte, 1)); n != 0 || rerr != io.EOF {
				err = fmt.Errorf("after the body: %d bytes, %v", n, rerr)
			}
		}
		if err != nil {
			b = append(b, "\nERROR: "+err.Error()...)
		}
		rf.body <- string(opening) + string(b)
	}()
	return rf
}

// answer waits for the whole body.
func (rf *rawFeed) answer() string {
	rf.t.Helper()
	select {
	case b := <-rf.body:
		return b
	case <-time.After(3 * time.Second):
		rf.t.Fatal("no answer within 3 s")
	}
	return ""
}

// parkedCount counts the longpolls parked on collection b/c.
func parkedCount(f *fixture, k Key) int {
	hub := f.hub
	hub.mu.RLock()
	t := hub.topics[k]
	hub.mu.RUnlock()
	if t == nil {
		return 0
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.parked)
}

var keyBC = Key{Bucket: "b", Collection: "c"}

// noHijack hides the connection from the handler: the longpoll then
// waits on its request goroutine, as over HTTP/2.
type noHijack struct{ http.ResponseWriter }

func (w noHijack) Flush() { w.ResponseWriter.(http.Flusher).Flush() }

// TestFeedParkedSameBytes: a parked longpoll answered by a write sends
// the bytes the request goroutine sends (with include_docs and a POST
// filter), as one chunked response announced Connection: close, then
// closes.
func TestFeedParkedSameBytes(t *testing.T) {
	f := newFeedFixture(t)
	srv := f.server()
	plain := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handlertest.Answers(f.h, noHijack{w}, r)
	}))
	defer plain.Close()
	target := feedColl + "/_changes?feed=longpoll&since=now&include_docs=true&filter=_doc_ids&timeout=60000"
	body := `{"doc_ids":["a","b"]}`
	parked := openRaw(t, srv, "POST", target, body)
	waiting := openRaw(t, plain, "POST", target, body)
	handlertest.Eventually(t, func() bool { return parkedCount(f, keyBC) == 1 })
	if !parked.resp.Close || strings.Join(parked.resp.TransferEncoding, ",") != "chunked" {
		t.Errorf("Connection: close %v, Transfer-Encoding %q", parked.resp.Close, parked.resp.TransferEncoding)
	}
	if got := parked.resp.Header.Get("Content-Type") + "|" + parked.resp.Header.Get("Cache-Control"); got != "application/json|must-revalidate" {
		t.Errorf("headers %q", got)
	}
	a := f.put("a", `{"n":1}`)
	got := parked.answer()
	if other := waiting.answer(); got != other {
		t.Fatalf("parked answer %q\nrequest goroutine's %q", got, other)
	}
	prefix := "{\"results\":[\n" + strings.TrimSuffix(row("a", a, 1, false), "}") + fmt.Sprintf(`,"doc":{"_id":"a","_rev":"%s",`, revOf("a", 1))
	suffix := fmt.Sprintf("}}\n],\n\"last_seq\":\"%d\",\"pending\":0}\n\n", a)
	if !strings.HasPrefix(got, prefix) || !strings.HasSuffix(got, suffix) || !strings.Contains(got, `"n":1`) {
		t.Fatalf("parked answer %q", got)
	}
	handlertest.Eventually(t, func() bool { _, n := f.hub.listeners(); return n == 0 })
}

// TestFeedParkedHTTP10ClosesAtOnce: the body of an HTTP/1.0 answer ends
// with its connection, so a woken parked longpoll over HTTP/1.0 closes as
// soon as its answer is written, not with the deferred closes of chunked
// answers (closeQuiet later).
func TestFeedParkedHTTP10ClosesAtOnce(t *testing.T) {
	f := newFeedFixture(t)
	srv := f.server()
	rf := openRawBytes(t, srv, "GET "+feedColl+"/_changes?feed=longpoll&since=now&timeout=60000 HTTP/1.0\r\nHost: x\r\n\r\n")
	handlertest.Eventually(t, func() bool { return parkedCount(f, keyBC) == 1 })
	start := time.Now()
	a := f.put("a", `{}`)
	got := rf.answer()
	if d := time.Since(start); d >= closeQuiet {
		t.Errorf("HTTP/1.0 answer complete after %v; want it before the deferred closes (%v)", d, closeQuiet)
	}
	if want := "{\"results\":[\n" + row("a", a, 1, false); !strings.HasPrefix(got, want) || strings.Contains(got, "ERROR") {
		t.Fatalf("answer %q; want it to start %q", got, want)
	}
}

// TestFeedParkedTimeout: a parked longpoll's timeout answers the empty
// result and closes.
func TestFeedParkedTimeout(t *testing.T) {
	f := newFeedFixture(t)
	a := f.put("a", `{}`)
	srv := f.server()
	start := time.Now()
	rf := openRaw(t, srv, "GET", fmt.Sprintf("%s/_changes?feed=longpoll&since=%d&timeout=200", feedColl, a), "")
	if got, want := rf.answer(), normalBody(fmt.Sprintf(`"%d"`, a), 0); got != want {
		t.Fatalf("timeout: %q want %q", got, want)
	}
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Fatalf("answered after %v", d)
	}
	handlertest.Eventually(t, func() bool { _, n := f.hub.listeners(); return n == 0 })
}

// TestFeedParkedClientGone: a parked longpoll holds one goroutine, and a
// client leaving frees it: no listener, no goroutine left.
func TestFeedParkedClientGone(t *testing.T) {
	f := newFeedFixture(t)
	srv := f.server()
	before := goleak.IgnoreCurrent()
	count := runtime.NumGoroutine()
	var conns []net.Conn
	for range 20 {
		conns = append(conns, openRaw(t, srv, "GET", feedColl+"/_changes?feed=longpoll&since=now", "").conn)
	}
	handlertest.Eventually(t, func() bool { return parkedCount(f, keyBC) == 20 })
	// Each test connection has its reader here; each parked longpoll
	// none once net/http's goroutines ended (it would hold two per
	// connection), only the process's hangup watcher on Linux and one
	// goroutine each elsewhere (or built with -tags nohangupwatch), plus
	// the handler's shutdown watcher.
	watchers := 20
	if epollHangups {
		watchers = 1
	}
	handlertest.Eventually(t, func() bool { return runtime.NumGoroutine()-count <= 20+watchers+1 })
	for _, c := range conns {
		c.Close()
	}
	handlertest.Eventually(t, func() bool { _, n := f.hub.listeners(); return n == 0 })
	goleak.VerifyNone(t, before)
}

// TestFeedParkedShutdown: a shutdown (config reload) answers parked
// longpolls with their empty result.
func TestFeedParkedShutdown(t *testing.T) {
	f := newFeedFixture(t)
	a := f.put("a", `{}`)
	srv := f.server()
	var feeds []*rawFeed
	for range 3 {
		feeds = append(feeds, openRaw(t, srv, "GET", feedColl+"/_changes?feed=longpoll&since=now", ""))
	}
	handlertest.Eventually(t, func() bool { return parkedCount(f, keyBC) == 3 })
	f.h.Shutdown()
	for _, rf := range feeds {
		if got, want := rf.answer(), normalBody(fmt.Sprintf(`"%d"`, a), 0); got != want {
			t.Fatalf("after shutdown %q want %q", got, want)
		}
	}
	handlertest.Eventually(t, func() bool { _, n := f.hub.listeners(); return n == 0 })
}

// TestFeedParkedFilterMiss: a write the filter drops leaves the longpoll
// parked (its cursor past that write); the next matching one answers it.
func TestFeedParkedFilterMiss(t *testing.T) {
	f := newFeedFixture(t)
	srv := f.server()
	rf := openRaw(t, srv, "GET", feedColl+`/_changes?feed=longpoll&since=now&filter=_doc_ids&doc_ids=["x"]`, "")
	handlertest.Eventually(t, func() bool { return parkedCount(f, keyBC) == 1 })
	topic := f.hub.topics[keyBC]
	_, gen := topic.wait()
	f.put("y", `{}`)
	handlertest.Eventually(t, func() bool {
		_, now := topic.wait()
		return now != gen && parkedCount(f, keyBC) == 1
	})
	select {
	case b := <-rf.body:
		t.Fatalf("answered for a filtered-out write: %q", b)
	case <-time.After(100 * time.Millisecond):
	}
	x := f.put("x", `{}`)
	if got, want := rf.answer(), normalBody(fmt.Sprintf(`"%d"`, x), 0, row("x", x, 1, false)); got != want {
		t.Fatalf("answer %q want %q", got, want)
	}
}

// TestFeedParkedClientSends: bytes a client sends while its longpoll is
// parked are dropped and the longpoll stays parked; a request pipelined
// behind the longpoll is not answered. Both get the answer to the
// longpoll, then the connection closes.
func TestFeedParkedClientSends(t *testing.T) {
	f := newFeedFixture(t)
	srv := f.server()
	req := "GET " + feedColl + "/_changes?feed=longpoll&since=now HTTP/1.1\r\nHost: x\r\n\r\n"
	later := openRawBytes(t, srv, req)
	pipelined := openRawBytes(t, srv, req+"GET /v1/ HTTP/1.1\r\nHost: x\r\n\r\n")
	handlertest.Eventually(t, func() bool { return parkedCount(f, keyBC) == 2 })
	if _, err := io.WriteString(later.conn, "GET /v1/ HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := parkedCount(f, keyBC); n != 2 {
		t.Fatalf("%d parked after the client sent more", n)
	}
	a := f.put("a", `{}`)
	want := normalBody(fmt.Sprintf(`"%d"`, a), 0, row("a", a, 1, false))
	for name, rf := range map[string]*rawFeed{"sent later": later, "pipelined": pipelined} {
		if got := rf.answer(); got != want {
			t.Errorf("%s: %q want %q", name, got, want)
		}
	}
	handlertest.Eventually(t, func() bool { _, n := f.hub.listeners(); return n == 0 })
}

// TestWakeQueueDefersCloses: an answered connection closes once the wake
// queue has been idle closeQuiet, and while wake-ups keep running, no
// later than closeMaxDelay after it began to wait.
func TestWakeQueueDefersCloses(t *testing.T) {
	closedAfter := func(busy bool) time.Duration {
		q := &wakeQueue{}
		if busy {
			q.running = 1
		}
		server, client := net.Pipe()
		start := time.Now()
		q.closeLater(&parkedFeed{conn: server})
		if _, err := client.Read(make([]byte, 1)); err != io.EOF {
			t.Fatalf("read %v; want EOF", err)
		}
		return time.Since(start)
	}
	if d := closedAfter(false); d < closeQuiet || d > closeQuiet+closeMaxDelay/2 {
		t.Errorf("idle queue: closed after %v; want about %v", d, closeQuiet)
	}
	if d := closedAfter(true); d < closeMaxDelay || d > 2*closeMaxDelay {
		t.Errorf("busy queue: closed after %v; want about %v", d, closeMaxDelay)
	}
}
