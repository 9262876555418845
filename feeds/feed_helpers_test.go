package feeds

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tidwall/gjson"

	"github.com/changegate/changegate/internal/handlertest"
)

// feedColl is the collection the feed tests write to.
const feedColl = "/v1/buckets/b/collections/c"

// newFeedFixture is a fixture with bucket b and collection c.
func newFeedFixture(t testing.TB) *fixture {
	t.Helper()
	f := newFixture(t)
	f.ok("PUT", "/v1/buckets/b", "{}")
	f.ok("PUT", feedColl, "{}")
	return f
}

// put writes record id with data and returns its last_modified.
func (f *fixture) put(id, data string) int64 {
	f.t.Helper()
	w := f.do("PUT", feedColl+"/records/"+id, `{"data":`+data+`}`)
	if w.Code >= 300 {
		f.t.Fatalf("PUT %s: %d %s", id, w.Code, w.Body)
	}
	return gjson.Get(w.Body.String(), "data.last_modified").Int()
}

// del deletes record id and returns its tombstone's last_modified.
func (f *fixture) del(id string) int64 {
	f.t.Helper()
	w := f.do("DELETE", feedColl+"/records/"+id, "")
	if w.Code >= 300 {
		f.t.Fatalf("DELETE %s: %d %s", id, w.Code, w.Body)
	}
	return gjson.Get(w.Body.String(), "data.last_modified").Int()
}

// row renders a row as the feed must.
// gen is the record's generation: 1 for its first write, one more for
// each write after.
func row(id string, lm, gen int64, deleted bool) string {
	s := fmt.Sprintf(`{"seq":"%d","id":"%s","changes":[{"rev":"%s"}]`, lm, id, revOf(id, gen))
	if deleted {
		s += `,"deleted":true`
	}
	return s + "}"
}

// normalBody renders a normal or longpoll response.
func normalBody(lastSeq string, pending int, rows ...string) string {
	return "{\"results\":[\n" + strings.Join(rows, ",\r\n") + fmt.Sprintf("\n],\n\"last_seq\":%s,\"pending\":%d}\n\n", lastSeq, pending)
}

// server serves the fixture over HTTP, for live feeds.
func (f *fixture) server() *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !handlertest.Answers(f.h, w, r) {
			f.api.ServeHTTP(w, r)
		}
	}))
	f.t.Cleanup(srv.Close)
	return srv
}

// stream is a live response read line by line.
type stream struct {
	t    testing.TB
	resp *http.Response
	r    *bufio.Reader
}

// open starts a request and returns once the headers arrived.
func open(t testing.TB, method, url, body string, headers ...string) *stream {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	handlertest.SetHeaders(req, body, headers...)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return &stream{t: t, resp: resp, r: bufio.NewReader(resp.Body)}
}

// line reads the next line (with its end) within a second.
func (s *stream) line() string {
	s.t.Helper()
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		l, err := s.r.ReadString('\n')
		ch <- result{l, err}
	}()
	select {
	case res := <-ch:
		if res.err != nil {
			s.t.Fatalf("reading a line: %v (got %q)", res.err, res.line)
		}
		return res.line
	case <-time.After(2 * time.Second):
		s.t.Fatal("no line within 2 s")
	}
	return ""
}

// rest reads to the end.
func (s *stream) rest() string {
	s.t.Helper()
	b, err := io.ReadAll(s.r)
	if err != nil {
		s.t.Fatal(err)
	}
	return string(b)
}
