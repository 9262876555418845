package integration

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/changegate/changegate/internal/handlertest"
	"github.com/changegate/changegate/internal/testserver"
)

// feedsCaddyfile serves the feeds behind Caddy's encode, as users write
// it: live feeds must still go out row by row.
const feedsCaddyfile = changesGlobal + `:{port} {
	encode gzip
	changes {
		resources /buckets/main
		%s
	}
	docstore {
		storage bolt {dir}/data.db
		userid_hmac_secret test-secret-of-16-bytes
		flush_endpoint
	}
}
`

// startFeeds runs changegate with bucket main readable by everyone and
// collection main/c, and returns it with its /v1 URL.
func startFeeds(t *testing.T, extra ...string) (*testserver.Server, string) {
	t.Helper()
	s := testserver.Start(t, fmt.Sprintf(feedsCaddyfile, strings.Join(extra, "\n\t\t")))
	v1 := s.URL() + "/v1"
	do(t, "PUT", v1+"/buckets/main", `{"permissions":{"read":["system.Everyone"]}}`, basic("alice")).expectStatus(t, 201)
	do(t, "PUT", v1+"/buckets/main/collections/c", "{}", basic("alice")).expectStatus(t, 201)
	return s, v1
}

// feedsPut writes a record of main/c as alice and returns its
// last_modified.
func feedsPut(t *testing.T, v1, collection, id string) int64 {
	t.Helper()
	r := do(t, "PUT", v1+"/buckets/main/collections/"+collection+"/records/"+id, `{"data":{}}`, basic("alice"))
	if r.status >= 300 {
		t.Fatalf("PUT %s: %d %s", id, r.status, r.body)
	}
	return changesNumber(t, r.json(t)["data"].(map[string]any)["last_modified"])
}

// rawClient asks for gzip itself and sees the encoded bytes.
var rawClient = &http.Client{Transport: &http.Transport{DisableCompression: true}}

// openFeed starts a request and fails unless headers arrive within a
// second, whatever the feed is waiting for.
func openFeed(t *testing.T, method, url, body string, headers ...string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	handlertest.SetHeaders(req, body, headers...)
	type result struct {
		resp *http.Response
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		resp, err := rawClient.Do(req)
		ch <- result{resp, err}
	}()
	select {
	case res := <-ch:
		if res.err != nil {
			t.Fatal(res.err)
		}
		t.Cleanup(func() { res.resp.Body.Close() })
		return res.resp
	case <-time.After(time.Second):
		t.Fatalf("%s %s: no headers within a second", method, url)
	}
	return nil
}

// lines reads a body line by line with a deadline per line.
type lines struct {
	t  *testing.T
	ch chan string
}

func readLines(t *testing.T, r io.Reader) *lines {
	l := &lines{t: t, ch: make(chan string, 100)}
	go func() {
		br := bufio.NewReader(r)
		for {
			s, err := br.ReadString('\n')
			if err != nil {
				if s != "" {
					l.ch <- s
				}
				close(l.ch)
				return
			}
			l.ch <- s
		}
	}()
	return l
}

// next returns the next non-empty line within 3 s ("" at the end).
func (l *lines) next() string {
	l.t.Helper()
	for {
		select {
		case s, ok := <-l.ch:
			if !ok {
				return ""
			}
			if s != "\n" {
				return s
			}
		case <-time.After(3 * time.Second):
			l.t.Fatal("no line within 3 s")
		}
	}
}

// TestFeedsContinuousThroughGzip: behind `encode gzip`, a continuous feed
// sends its headers at once and every row as it happens, compressed.
func TestFeedsContinuousThroughGzip(t *testing.T) {
	_, v1 := startFeeds(t)
	a := feedsPut(t, v1, "c", "a")
	resp := openFeed(t, "GET", v1+"/buckets/main/collections/c/_changes?feed=continuous&heartbeat=true", "", "Accept-Encoding: gzip")
	if got := resp.Header.Get("Content-Encoding") + "|" + resp.Header.Get("Content-Type"); got != "gzip|application/json" {
		t.Fatalf("headers: %q", got)
	}
	zr, err := gzip.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	l := readLines(t, zr)
	if got := l.next(); !strings.HasPrefix(got, fmt.Sprintf(`{"seq":"%d","id":"a",`, a)) {
		t.Fatalf("backlog row %q", got)
	}
	b := feedsPut(t, v1, "c", "b")
	if got := l.next(); !strings.HasPrefix(got, fmt.Sprintf(`{"seq":"%d","id":"b",`, b)) {
		t.Fatalf("live row %q", got)
	}
}

// TestFeedsEventSourceThroughGzip: the same for eventsource.
func TestFeedsEventSourceThroughGzip(t *testing.T) {
	_, v1 := startFeeds(t)
	resp := openFeed(t, "GET", v1+"/buckets/main/collections/c/_changes?feed=eventsource", "", "Accept-Encoding: gzip")
	if got := resp.Header.Get("Content-Type"); got != "text/event-stream" {
		t.Fatalf("Content-Type %q", got)
	}
	body := io.Reader(resp.Body)
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		body = zr
	}
	l := readLines(t, body)
	// Idle with nothing sent: a comment starts the stream.
	if got := l.next(); got != ":\n" {
		t.Fatalf("idle opening %q", got)
	}
	a := feedsPut(t, v1, "c", "a")
	if got := l.next(); !strings.HasPrefix(got, fmt.Sprintf(`data: {"seq":"%d","id":"a",`, a)) {
		t.Fatalf("data %q", got)
	}
	if got := l.next(); got != fmt.Sprintf("id: \"%d\"\n", a) {
		t.Fatalf("id %q", got)
	}
}

// TestFeedsIdleOpeningThroughGzip: a live feed with nothing to send
// sends one body byte at once, long before its first heartbeat, and
// through `encode gzip` that byte arrives compressed and decodable
// (apache/couchdb#2240): continuous an empty line, eventsource a comment.
func TestFeedsIdleOpeningThroughGzip(t *testing.T) {
	_, v1 := startFeeds(t)
	for _, c := range []struct{ feed, want string }{
		{"continuous", "\n"},
		{"eventsource", ":\n\n"},
	} {
		t.Run(c.feed, func(t *testing.T) {
			start := time.Now()
			resp := openFeed(t, "GET", v1+"/buckets/main/collections/c/_changes?since=now&heartbeat=5000&feed="+c.feed, "", "Accept-Encoding: gzip")
			if got := resp.Header.Get("Content-Encoding"); got != "gzip" {
				t.Fatalf("Content-Encoding %q", got)
			}
			zr, err := gzip.NewReader(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]byte, len(c.want))
			if _, err := io.ReadFull(zr, got); err != nil || string(got) != c.want {
				t.Fatalf("opening %q, %v", got, err)
			}
			if took := time.Since(start); took > time.Second {
				t.Fatalf("opening after %v, want at once (heartbeat 5 s)", took)
			}
		})
	}
}

// TestFeedsLongpollNano: nano's changesReader request (POST, since=now,
// timeout=60000, body {}): headers at once, the next write answers it.
func TestFeedsLongpollNano(t *testing.T) {
	_, v1 := startFeeds(t)
	feedsPut(t, v1, "c", "a")
	resp := openFeed(t, "POST", v1+"/buckets/main/collections/c/_changes?feed=longpoll&timeout=60000&since=now&limit=100&include_docs=false", "{}", "Accept-Encoding: gzip")
	start := time.Now()
	b := feedsPut(t, v1, "c", "b")
	body := readGzip(t, resp)
	want := fmt.Sprintf(`"last_seq":"%d","pending":0}`, b)
	if !strings.Contains(body, fmt.Sprintf(`{"seq":"%d","id":"b",`, b)) || !strings.Contains(body, want) {
		t.Fatalf("body %q", body)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("answered after %v", d)
	}
}

// readGzip reads a whole body, gunzipping it when encoded.
func readGzip(t *testing.T, resp *http.Response) string {
	t.Helper()
	r := io.Reader(resp.Body)
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestFeedsLongpollTimeout: timeout is honoured (capped by
// feed_timeout_max) with an empty result.
func TestFeedsLongpollTimeout(t *testing.T) {
	_, v1 := startFeeds(t, "feed_timeout_max 300ms")
	start := time.Now()
	r := do(t, "GET", v1+"/buckets/main/collections/c/_changes?feed=longpoll&since=now&timeout=60000", "")
	r.expect(t, 200, "{\"results\":[\n\n],\n\"last_seq\":\"0\",\"pending\":0}\n\n")
	if d := time.Since(start); d < 300*time.Millisecond || d > 3*time.Second {
		t.Fatalf("answered after %v", d)
	}
}

// followOne writes record a and follows main/c with a continuous feed,
// past its first row; it returns the feed and a's last_modified.
func followOne(t *testing.T, v1 string) (*lines, int64) {
	t.Helper()
	a := feedsPut(t, v1, "c", "a")
	resp := openFeed(t, "GET", v1+"/buckets/main/collections/c/_changes?feed=continuous&heartbeat=true", "")
	l := readLines(t, resp.Body)
	if got := l.next(); !strings.HasPrefix(got, fmt.Sprintf(`{"seq":"%d"`, a)) {
		t.Fatalf("row %q", got)
	}
	return l, a
}

// TestFeedsReloadEndsContinuous: a config reload ends a continuous feed
// with its last line instead of holding the old server up.
func TestFeedsReloadEndsContinuous(t *testing.T) {
	s, v1 := startFeeds(t)
	l, a := followOne(t, v1)
	if err := s.Reload(fmt.Sprintf(feedsCaddyfile, "heartbeat 10s")); err != nil {
		t.Fatal(err)
	}
	if got, want := l.next(), fmt.Sprintf(`{"last_seq":"%d","pending":0}`+"\n", a); got != want {
		t.Fatalf("after reload %q want %q", got, want)
	}
}

// TestFeedsMonitor: the monitor feed lists each monitored collection
// once, resumes from its last_seq, and a longpoll on it wakes on a write
// to any monitored collection.
func TestFeedsMonitor(t *testing.T) {
	_, v1 := startFeeds(t)
	do(t, "PUT", v1+"/buckets/main/collections/d", "{}", basic("alice")).expectStatus(t, 201)
	feedsPut(t, v1, "c", "a")
	feedsPut(t, v1, "d", "a")
	feedsPut(t, v1, "c", "b")
	u := v1 + "/buckets/monitor/collections/changes/_changes"
	var page struct {
		Results []struct {
			ID  string `json:"id"`
			Doc struct {
				Collection string `json:"collection"`
			} `json:"doc"`
		} `json:"results"`
		LastSeq string `json:"last_seq"`
	}
	if err := json.Unmarshal([]byte(do(t, "GET", u+"?include_docs=true", "").expectStatus(t, 200).body), &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Results) != 2 || page.Results[0].Doc.Collection != "d" || page.Results[1].Doc.Collection != "c" {
		t.Fatalf("monitor rows %+v", page.Results)
	}
	resp := openFeed(t, "GET", u+"?feed=longpoll&include_docs=true&since="+page.LastSeq, "")
	feedsPut(t, v1, "d", "b")
	body := readGzip(t, resp)
	if !strings.Contains(body, `"collection":"d"`) || strings.Contains(body, `"collection":"c"`) {
		t.Fatalf("longpoll body %q", body)
	}
}

// TestFeedsStopEndsContinuous: a server shutdown ends a continuous feed
// with its last line, and does not wait for the feed to end by itself.
func TestFeedsStopEndsContinuous(t *testing.T) {
	s, v1 := startFeeds(t)
	l, a := followOne(t, v1)
	start := time.Now()
	stopped := make(chan struct{})
	go func() {
		s.Stop()
		close(stopped)
	}()
	if got, want := l.next(), fmt.Sprintf(`{"last_seq":"%d","pending":0}`+"\n", a); got != want {
		t.Fatalf("at shutdown %q want %q", got, want)
	}
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		t.Fatal("the server did not stop within 5 s")
	}
	t.Logf("stopped in %v", time.Since(start))
}

// TestFeedsNormalETag: through Caddy, a normal feed's ETag comes back
// with 304 and no body on If-None-Match until the collection changes.
func TestFeedsNormalETag(t *testing.T) {
	_, v1 := startFeeds(t)
	feedsPut(t, v1, "c", "a")
	u := v1 + "/buckets/main/collections/c/_changes"
	first := do(t, "GET", u, "")
	first.expectStatus(t, 200)
	tag := first.header.Get("ETag")
	if tag == "" {
		t.Fatalf("no ETag: %v", first.header)
	}
	r := do(t, "GET", u, "", "If-None-Match: "+tag)
	r.expect(t, 304, "")
	if r.header.Get("ETag") != tag {
		t.Errorf("304 ETag %q, want %q", r.header.Get("ETag"), tag)
	}
	feedsPut(t, v1, "c", "b")
	r = do(t, "GET", u, "", "If-None-Match: "+tag)
	r.expectStatus(t, 200)
	if r.header.Get("ETag") == tag {
		t.Errorf("ETag %q unchanged after a write", tag)
	}
}

// TestChangesEndOfService: after the docstore's eos date, the monitor,
// the changesets and the feeds answer 410 errno 202 like every other
// Kinto route (Kinto's end-of-life tween runs before its plugins' views).
func TestChangesEndOfService(t *testing.T) {
	s := testserver.Start(t, strings.Replace(fmt.Sprintf(feedsCaddyfile, ""), "flush_endpoint", "eos 2000-01-01", 1))
	v1 := s.URL() + "/v1"
	for _, path := range []string{
		"/buckets/monitor/collections/changes/changeset?_expected=0",
		"/buckets/monitor/collections/changes/records",
		"/buckets/main/collections/c/changeset?_expected=0",
		"/buckets/main/collections/c/_changes",
		"/buckets/monitor/collections/changes/_changes?feed=longpoll",
	} {
		do(t, "GET", v1+path, "").
			expect(t, 410, `{"code":410,"errno":202,"error":"Gone","message":"The service you are trying to connect no longer exists at this location."}`).
			expectHeader(t, "Alert", `{"code":"hard-eol","message":"","url":"https://kinto.readthedocs.io/"}`)
	}
}
