package feeds

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/changegate/changegate/internal/handlertest"
)

// TestFeedNormal: rows in last_modified order, tombstones marked,
// CouchDB's exact bytes and headers, limit/pending/since/descending as
// chttpd_changes_test.erl asserts them.
func TestFeedNormal(t *testing.T) {
	f := newFeedFixture(t)
	a := f.put("a", `{"n":1}`)
	b := f.put("b", `{"n":2}`)
	a2 := f.put("a", `{"n":3}`)
	d := f.del("b")
	ra, rd := row("a", a2, 2, false), row("b", d, 2, true)
	q := func(s string) string {
		return fmt.Sprintf(`"%d"`, map[string]int64{"a": a, "b": b, "a2": a2, "d": d}[s])
	}
	u := feedColl + "/_changes"

	w := f.do("GET", u, "")
	handlertest.Expect(t, w, 200, normalBody(q("d"), 0, ra, rd))
	if got := w.Header().Get("Content-Type") + "|" + w.Header().Get("Cache-Control"); got != "application/json|must-revalidate" {
		t.Errorf("headers %q", got)
	}
	handlertest.Expect(t, f.do("GET", u+"?since=0&feed=normal", ""), 200, normalBody(q("d"), 0, ra, rd))
	handlertest.Expect(t, f.do("GET", u+"?limit=1", ""), 200, normalBody(q("a2"), 1, ra))
	handlertest.Expect(t, f.do("GET", u+"?limit=0", ""), 200, normalBody(`"0"`, 2))
	handlertest.Expect(t, f.do("GET", u+"?since="+url.QueryEscape(q("a2")), ""), 200, normalBody(q("d"), 0, rd))
	handlertest.Expect(t, f.do("GET", fmt.Sprintf("%s?since=%d", u, a2), ""), 200, normalBody(q("d"), 0, rd))
	handlertest.Expect(t, f.do("GET", fmt.Sprintf("%s?since=%d-g1AAAA", u, a2), ""), 200, normalBody(q("d"), 0, rd))
	handlertest.Expect(t, f.do("GET", u+"?since=now", ""), 200, normalBody(q("d"), 0))
	handlertest.Expect(t, f.do("GET", u+"?descending=true", ""), 200, normalBody(q("a2"), 0, rd, ra))
	handlertest.Expect(t, f.do("GET", u+"?descending=true&limit=1&since=5", ""), 200, normalBody(q("d"), 1, rd))
	handlertest.Expect(t, f.do("GET", u+"?descending=true&limit=0", ""), 200, normalBody(q("d"), 2))
	handlertest.Expect(t, f.do("GET", u+"?style=all_docs&unknown=1&LIMIT=1", ""), 200, normalBody(q("a2"), 1, ra))

	// seq_interval=3 counts down from CouchDB's default limit 10^15:
	// null, seq, null... (t_seq_interval).
	nullA := strings.Replace(ra, fmt.Sprintf(`"seq":"%d"`, a2), `"seq":null`, 1)
	handlertest.Expect(t, f.do("GET", u+"?seq_interval=3", ""), 200, normalBody(q("d"), 0, nullA, rd))

	// include_docs: the record with _id and _rev; a tombstone's doc.
	docA := strings.TrimSuffix(ra, "}") + fmt.Sprintf(`,"doc":{"_id":"a","_rev":"%s","n":3,"id":"a","last_modified":%d}}`, revOf("a", 2), a2)
	docD := strings.TrimSuffix(rd, "}") + fmt.Sprintf(`,"doc":{"_id":"b","_rev":"%s","_deleted":true}}`, revOf("b", 2))
	handlertest.Expect(t, f.do("GET", u+"?include_docs=true", ""), 200, normalBody(q("d"), 0, docA, docD))

	// _doc_ids in the query (GET) or the body (POST).
	ids := url.QueryEscape(`["b","zz"]`)
	handlertest.Expect(t, f.do("GET", u+"?filter=_doc_ids&doc_ids="+ids, ""), 200, normalBody(q("d"), 0, rd))
	handlertest.Expect(t, f.do("POST", u+"?filter=_doc_ids", `{"doc_ids":["a"]}`), 200, normalBody(q("d"), 0, ra))
	handlertest.Expect(t, f.do("POST", u, `{"doc_ids":["a"]}`), 200, normalBody(q("d"), 0, ra, rd))
	handlertest.Expect(t, f.do("POST", u, ""), 200, normalBody(q("d"), 0, ra, rd))
}

// TestFeedErrors: CouchDB's statuses and exact reasons.
func TestFeedErrors(t *testing.T) {
	f := newFeedFixture(t)
	u := feedColl + "/_changes"
	bad := func(reason string) string {
		return fmt.Sprintf(`{"error":"bad_request","reason":%q}`, reason) + "\n"
	}
	for _, c := range []struct{ query, reason string }{
		{"feed=poll", "Supported `feed` types: normal, continuous, live, longpoll, eventsource"},
		{"since=abc", "Malformed sequence supplied in 'since' parameter."},
		{"limit=-1", "The limit value should be a non-negative integer"},
		{"limit=a", "The limit parameter should be a non-negative integer"},
		{"feed=continuous&heartbeat=-1000", "The heartbeat value should be a positive integer (in milliseconds)."},
		{"feed=continuous&heartbeat=a1000", "Invalid heartbeat value. Expecting a positive integer value (in milliseconds)."},
		{"timeout=-1", "The timeout value should be a non-negative integer"},
		{"timeout=x", "The timeout parameter should be a non-negative integer"},
		{"filter=_doc_ids", "`doc_ids` filter parameter is not a list of doc ids."},
		{"filter=_doc_ids&doc_ids=%7B%7D", "`doc_ids` filter parameter is not a list of doc ids."},
		{"filter=_bogus", "unknown builtin filter name"},
		{"filter=a/b/c", "`filter` must be of the form `designname/filtername`"},
		{"seq_interval=0", "invalid_seq_interval"},
		{"style=x", "Supported `style` values: main_only, all_docs"},
	} {
		t.Run(c.query, func(t *testing.T) { handlertest.Expect(t, f.do("GET", u+"?"+c.query, ""), 400, bad(c.reason)) })
	}
	// Booleans: CouchDB's query_parse_error, the value quoted as
	// Erlang prints it; TRUE and False are booleans too.
	for _, c := range []struct{ query, value string }{
		{"descending=maybe", `"maybe"`},
		{"include_docs=2", `"2"`},
		{"feed=continuous&include_docs=", `""`},
		{"descending=%22x%22", `"\"x\""`},
	} {
		t.Run(c.query, func(t *testing.T) {
			handlertest.Expect(t, f.do("GET", u+"?"+c.query, ""), 400,
				fmt.Sprintf(`{"error":"query_parse_error","reason":%q}`, "Invalid boolean parameter: "+c.value)+"\n")
		})
	}
	handlertest.Expect(t, f.do("GET", u+"?descending=TRUE&include_docs=False", ""), 200, normalBody(`"0"`, 0))
	handlertest.Expect(t, f.do("GET", u+"?filter=ddoc/fn", ""), 404, `{"error":"not_found","reason":"missing"}`+"\n")
	handlertest.Expect(t, f.do("POST", u, `["doc1"]`), 400, bad("Request body must be a JSON object"))
	handlertest.Expect(t, f.do("POST", u, `{"doc_ids":`), 400, bad("invalid UTF-8 JSON"))
	handlertest.Expect(t, f.do("POST", u, `{}`, "Content-Type: text/plain"), 415,
		`{"error":"bad_content_type","reason":"Content-Type must be application/json"}`+"\n")
	w := f.do("PUT", u, "")
	handlertest.Expect(t, w, 405, `{"error":"method_not_allowed","reason":"Only GET,POST,HEAD allowed"}`+"\n")
	if got := w.Header().Get("Allow"); got != "GET,POST,HEAD" {
		t.Errorf("Allow %q", got)
	}
	if w := f.do("GET", "/v1/buckets/b/collections/nope/_changes", ""); w.Code != 404 {
		t.Errorf("missing collection: %d %s", w.Code, w.Body)
	}
}

// TestFeedDatabaseInfo: PouchDB's GET {db}/ answer.
func TestFeedDatabaseInfo(t *testing.T) {
	f := newFeedFixture(t)
	lm := f.put("a", `{}`)
	handlertest.Expect(t, f.do("GET", feedColl+"/", ""), 200,
		fmt.Sprintf(`{"db_name":"b/c","update_seq":"%d","instance_start_time":"0"}`+"\n", lm))
	if w := f.do("GET", "/v1/buckets/b/collections/nope/", ""); w.Code != 404 {
		t.Errorf("missing collection: %d %s", w.Code, w.Body)
	}
}

// TestFeedLongpoll: a backlog returns at once; otherwise the first
// change ends the poll, or the timeout with an empty result.
func TestFeedLongpoll(t *testing.T) {
	f := newFeedFixture(t)
	a := f.put("a", `{}`)
	srv := f.server()
	u := srv.URL + feedColl + "/_changes?feed=longpoll"

	s := open(t, "GET", u, "")
	if got := s.rest(); got != normalBody(fmt.Sprintf(`"%d"`, a), 0, row("a", a, 1, false)) {
		t.Fatalf("backlog: %q", got)
	}

	s = open(t, "POST", u+"&since=now&timeout=60000", "{}")
	if s.resp.StatusCode != 200 || s.resp.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("headers: %d %v", s.resp.StatusCode, s.resp.Header)
	}
	if got := s.line(); got != "{\"results\":[\n" {
		t.Fatalf("first line %q", got)
	}
	b := f.put("b", `{}`)
	if got := "{\"results\":[\n" + s.rest(); got != normalBody(fmt.Sprintf(`"%d"`, b), 0, row("b", b, 1, false)) {
		t.Fatalf("after a write: %q", got)
	}

	start := time.Now()
	s = open(t, "GET", fmt.Sprintf("%s&since=%d&timeout=200", u, b), "")
	if got := s.rest(); got != normalBody(fmt.Sprintf(`"%d"`, b), 0) {
		t.Fatalf("timeout: %q", got)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 2*time.Second {
		t.Errorf("timeout=200 answered after %v", d)
	}

	// A change the filter drops does not end the poll.
	s = open(t, "GET", fmt.Sprintf("%s&since=%d&filter=_doc_ids&doc_ids=%s", u, b, url.QueryEscape(`["c"]`)), "")
	s.line()
	f.put("x", `{}`)
	c := f.put("c", `{}`)
	if got := "{\"results\":[\n" + s.rest(); got != normalBody(fmt.Sprintf(`"%d"`, c), 0, row("c", c, 1, false)) {
		t.Fatalf("filtered: %q", got)
	}
}

// TestFeedContinuous: backlog, live rows, heartbeats, limit and the
// final line.
func TestFeedContinuous(t *testing.T) {
	f := newFeedFixture(t)
	a := f.put("a", `{}`)
	srv := f.server()
	u := srv.URL + feedColl + "/_changes?feed="

	s := open(t, "GET", u+"continuous&timeout=0", "")
	if got, want := s.rest(), row("a", a, 1, false)+"\n"+fmt.Sprintf(`{"last_seq":"%d","pending":0}`, a)+"\n\n"; got != want {
		t.Fatalf("timeout=0: %q want %q", got, want)
	}

	s = open(t, "GET", u+"live&heartbeat=50&limit=3", "")
	if got := s.line(); got != row("a", a, 1, false)+"\n" {
		t.Fatalf("backlog %q", got)
	}
	if got := s.line(); got != "\n" {
		t.Fatalf("heartbeat %q", got)
	}
	b := f.put("b", `{}`)
	for got := s.line(); got != row("b", b, 1, false)+"\n"; got = s.line() {
		if got != "\n" {
			t.Fatalf("live row: %q", got)
		}
	}
	c := f.del("a")
	for got := s.line(); got != row("a", c, 2, true)+"\n"; got = s.line() {
		if got != "\n" {
			t.Fatalf("live tombstone: %q", got)
		}
	}
	if got, want := s.rest(), fmt.Sprintf(`{"last_seq":"%d","pending":0}`, c)+"\n\n"; got != want {
		t.Fatalf("end at limit: %q want %q", got, want)
	}

	// Idle with nothing sent: one empty line at once, long before the
	// first heartbeat (apache/couchdb#2240).
	start := time.Now()
	s = open(t, "GET", u+"continuous&since=now&heartbeat=5000", "")
	if got := s.line(); got != "\n" || time.Since(start) > time.Second {
		t.Fatalf("idle opening %q after %v", got, time.Since(start))
	}

	// limit=2 with one change waits for the timeout (> 300 ms).
	start = time.Now()
	s = open(t, "GET", fmt.Sprintf("%scontinuous&since=%d&limit=2&timeout=300", u, b), "")
	if got, want := s.rest(), row("a", c, 2, true)+"\n"+fmt.Sprintf(`{"last_seq":"%d","pending":0}`, c)+"\n\n"; got != want {
		t.Fatalf("limit over: %q want %q", got, want)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("ended after %v", d)
	}
}

// TestFeedEventSource: data/id events, heartbeat events, the
// Last-Event-ID header overriding since (COUCHDB-1852).
func TestFeedEventSource(t *testing.T) {
	f := newFeedFixture(t)
	a := f.put("a", `{}`)
	b := f.put("b", `{}`)
	srv := f.server()
	u := srv.URL + feedColl + "/_changes?feed=eventsource"
	ev := func(id string, lm int64) string {
		return fmt.Sprintf("data: %s\nid: \"%d\"\n\n", row(id, lm, 1, false), lm)
	}

	s := open(t, "GET", u+"&limit=1", "")
	if got := s.resp.Header.Get("Content-Type") + "|" + s.resp.Header.Get("Cache-Control"); got != "text/event-stream|no-cache" {
		t.Fatalf("headers %q", got)
	}
	if got := s.rest(); got != ev("a", a) {
		t.Fatalf("limit=1: %q", got)
	}
	s = open(t, "GET", u+"&since=0&timeout=100", "", fmt.Sprintf(`Last-Event-ID: "%d"`, a))
	if got := s.rest(); got != ev("b", b) {
		t.Fatalf("Last-Event-ID: %q", got)
	}
	s = open(t, "GET", fmt.Sprintf("%s&last-event-id=%d&heartbeat=30&limit=1", u, b), "")
	// Idle with nothing sent: a comment starts the stream at once.
	if got := s.line() + s.line(); got != ":\n\n" {
		t.Fatalf("idle opening %q", got)
	}
	if got := s.line() + s.line() + s.line(); got != "event: heartbeat\ndata: \n\n" {
		t.Fatalf("heartbeat %q", got)
	}
	c := f.put("c", `{}`)
	got := s.rest()
	if !strings.HasSuffix(got, ev("c", c)) || strings.Trim(strings.TrimSuffix(got, ev("c", c)), "event: heartbeat\ndata: \n") != "" {
		t.Fatalf("live event %q", got)
	}
}

// TestFeedHead: HEAD answers a normal feed's headers without a body, and
// does not wait whatever the feed type.
func TestFeedHead(t *testing.T) {
	f := newFeedFixture(t)
	w := f.do("HEAD", feedColl+"/_changes?feed=longpoll&since=now", "")
	handlertest.Expect(t, w, 200, "")
	if got := w.Header().Get("Content-Type"); got != "application/json" {
		t.Errorf("Content-Type %q", got)
	}
}

// TestFeedRevGenerations: every write of a record is its next generation,
// a permission-only change and a re-creation over the tombstone included
// (each gives the record a new last_modified); the document carries the
// whole history.
func TestFeedRevGenerations(t *testing.T) {
	f := newFeedFixture(t)
	f.put("a", `{"n":1}`)
	w := f.do("PATCH", feedColl+"/records/a", `{"permissions":{"read":["system.Everyone"]}}`)
	if w.Code != 200 {
		t.Fatalf("PATCH permissions: %d %s", w.Code, w.Body)
	}
	f.del("a")
	lm := f.put("a", `{"n":4}`)
	handlertest.Expect(t, f.do("GET", feedColl+"/_changes", ""), 200, normalBody(fmt.Sprintf(`"%d"`, lm), 0, row("a", lm, 4, false)))
	var ids []string
	for g := int64(4); g >= 1; g-- {
		ids = append(ids, fmt.Sprintf("%q", strings.TrimPrefix(revOf("a", g), fmt.Sprint(g)+"-")))
	}
	want := fmt.Sprintf(`{"_id":"a","_rev":"%s","n":4,"id":"a","last_modified":%d,"_revisions":{"start":4,"ids":[%s]}}`+"\n", revOf("a", 4), lm, strings.Join(ids, ","))
	handlertest.Expect(t, f.do("GET", feedColl+"/a?revs=true", ""), 200, want)
}
