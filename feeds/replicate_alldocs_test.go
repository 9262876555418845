package feeds

import (
	"context"
	"fmt"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/changegate/changegate/internal/handlertest"
)

// allDocsRow renders a row of _all_docs for a record at its first write.
func allDocsRow(id string) string {
	return `{"id":"` + id + `","key":"` + id + `","value":{"rev":"` + revOf(id, 1) + `"}}`
}

// allDocsBody renders an answer without keys.
func allDocsBody(total, offset int, ids ...string) string {
	rows := make([]string, len(ids))
	for i, id := range ids {
		rows[i] = "\r\n" + allDocsRow(id)
	}
	body := fmt.Sprintf(`{"total_rows":%d,"offset":%d,"rows":[`, total, offset) + strings.Join(rows, ",")
	if len(ids) > 0 {
		body += "\r\n"
	}
	return body + "]}\n"
}

func TestAllDocsWindow(t *testing.T) {
	f := newFeedFixture(t)
	for _, id := range []string{"d", "b", "x", "e", "a", "c"} {
		f.put(id, "{}")
	}
	f.del("x")
	for _, tc := range []struct {
		query string
		body  string
	}{
		{"", allDocsBody(5, 0, "a", "b", "c", "d", "e")},
		{"?limit=2", allDocsBody(5, 0, "a", "b")},
		{"?limit=0", allDocsBody(5, 0)},
		{"?skip=1&limit=2", allDocsBody(5, 1, "b", "c")},
		{"?skip=9", allDocsBody(5, 5)},
		{`?startkey="b"&limit=2`, allDocsBody(5, 1, "b", "c")},
		{`?start_key="bb"&endkey="d"`, allDocsBody(5, 2, "c", "d")},
		{`?startkey="b"&end_key="d"&inclusive_end=false`, allDocsBody(5, 1, "b", "c")},
		{`?descending=true&limit=2`, allDocsBody(5, 0, "e", "d")},
		{`?descending=true&startkey="c"&skip=1`, allDocsBody(5, 3, "b", "a")},
		{`?startkey="d"&endkey="b"`, allDocsBody(5, 3)},
	} {
		handlertest.Expect(t, f.do("GET", feedColl+"/_all_docs"+tc.query, ""), 200, tc.body)
	}
	handlertest.Expect(t, f.do("POST", feedColl+"/_all_docs?limit=2", `{"keys":["x","zz","a","c"]}`), 200,
		`{"total_rows":5,"offset":null,"rows":[`+"\r\n"+`{"id":"x","key":"x","value":{"rev":"`+revOf("x", 2)+`","deleted":true}},`+
			"\r\n"+`{"key":"zz","error":"not_found"}`+"\r\n]}\n")
}

func TestAllDocsCap(t *testing.T) {
	f := newFeedFixture(t)
	f.put("a", "{}")
	for _, q := range []string{"limit=10001", "skip=10001"} {
		name, _, _ := strings.Cut(q, "=")
		handlertest.Expect(t, f.do("GET", feedColl+"/_all_docs?"+q, ""), 400,
			`{"error":"bad_request","reason":"Invalid value for `+"`"+name+"`"+`: at most 10000"}`+"\n")
	}
	handlertest.Expect(t, f.do("GET", feedColl+"/_all_docs?limit=10000&skip=10000", ""), 200, allDocsBody(1, 1))
	handlertest.Expect(t, f.do("POST", feedColl+"/_all_docs?limit=10001&skip=10001", `{"keys":["a"]}`), 200, `{"total_rows":1,"offset":null,"rows":[]}`+"\n")

	src := &countedFeed{n: maxAllDocsRows + 1}
	w := httptest.NewRecorder()
	f.h.serveAllDocs(w, httptest.NewRequest("GET", feedColl+"/_all_docs", nil), src)
	handlertest.Expect(t, w, 400, `{"error":"bad_request","reason":"_all_docs answers at most 10000 rows: page with `+"`limit` and `startkey`"+`"}`+"\n")
	w = httptest.NewRecorder()
	f.h.serveAllDocs(w, httptest.NewRequest("GET", feedColl+"/_all_docs?skip=1", nil), src)
	if w.Code != 200 || strings.Count(w.Body.String(), `"id"`) != maxAllDocsRows {
		t.Fatalf("_all_docs?skip=1 of %d rows: %d, %d rows", src.n, w.Code, strings.Count(w.Body.String(), `"id"`))
	}
}

// TestAllDocsBoundedMemory: a limited _all_docs of a large collection
// holds the rows of its answer, not the collection's.
func TestAllDocsBoundedMemory(t *testing.T) {
	f := newFeedFixture(t)
	src := &countedFeed{n: 200_000}
	src.rows = src.all()
	serve := func() string {
		w := httptest.NewRecorder()
		f.h.serveAllDocs(w, httptest.NewRequest("GET", feedColl+"/_all_docs?limit=3&descending=true", nil), src)
		return w.Body.String()
	}
	want := `{"total_rows":200000,"offset":0,"rows":[` + "\r\n" +
		strings.Join([]string{allDocsRow("199999"), allDocsRow("199998"), allDocsRow("199997")}, ",\r\n") + "\r\n]}\n"
	if got := serve(); got != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	serve()
	runtime.ReadMemStats(&after)
	// Holding every row costs more than 100 bytes a row; the answer's
	// rows and one page cost a few KB.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Errorf("_all_docs?limit=3 of %d rows allocated %d bytes", src.n, alloc)
	}
}

// countedFeed is a source of n live records, ids "000000".."n-1" read in
// a scrambled order, from rows built once when set.
type countedFeed struct {
	feedSource
	n    int
	rows []feedRow
}

// all builds the rows: record i at last_modified i+1.
func (c *countedFeed) all() []feedRow {
	rows := make([]feedRow, c.n)
	for i := range rows {
		id := fmt.Sprintf("%06d", (i*7919)%c.n)
		rows[i] = feedRow{cur: feedCursor{pos: int64(i + 1)}, id: id, lm: int64(i + 1), gen: 1}
	}
	return rows
}

func (c *countedFeed) read(_ context.Context, after feedCursor, limit int, _, _ bool) (*feedPage, error) {
	rows := c.rows
	if rows == nil {
		rows = c.all()
	}
	rows = rows[min(int(after.pos), len(rows)):]
	page := &feedPage{exists: true, rows: rows[:min(limit, len(rows))]}
	page.pending = len(rows) - len(page.rows)
	return page, nil
}

// BenchmarkAllDocsLimit: _all_docs?limit=10 of a 200,000-record source
// (bench/alldocs.md).
func BenchmarkAllDocsLimit(b *testing.B) {
	f := newFeedFixture(b)
	src := &countedFeed{n: 200_000}
	src.rows = src.all()
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		f.h.serveAllDocs(w, httptest.NewRequest("GET", feedColl+"/_all_docs?limit=10", nil), src)
		if w.Code != 200 {
			b.Fatal(w.Code, w.Body)
		}
	}
}
