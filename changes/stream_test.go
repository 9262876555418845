package changes

import (
	"bufio"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// The monitor feed's tests read live responses as the feeds' own tests
// do (package feeds, feed_helpers_test.go).

// server serves the fixture over HTTP, for live feeds.
func (f *fixture) server() *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !f.h.Serve(w, r) {
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
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		req.Header.Set(k, v)
	}
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
