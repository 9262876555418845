package feeds

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/changegate/changegate/kinto"
)

// feedBatch bounds one storage read of a forward feed, so that a feed of
// any length streams in bounded memory.
const feedBatch = 1000

// feedRow is one change of a feed.
type feedRow struct {
	cur     feedCursor
	id      string
	lm      int64
	deleted bool
	// gen is the record's generation (kinto.ChangeMeta.Generation); 0
	// when the source keeps none.
	gen int64
	// data is the object as stored (record or monitor entry).
	data json.RawMessage
}

// revGen is the generation of the row's revision: the record's, else
// its last_modified (see appendRev).
func (row feedRow) revGen() int64 {
	if row.gen > 0 {
		return row.gen
	}
	return row.lm
}

// rowOf is the row of a change the source listed.
func rowOf(raw json.RawMessage, meta []kinto.ChangeMeta, i int) feedRow {
	if len(meta) > i {
		m := meta[i]
		return feedRow{id: m.ID, lm: m.LastModified, deleted: m.Deleted, gen: m.Generation, data: raw}
	}
	v := gjson.GetManyBytes(raw, "id", "last_modified", "deleted")
	return feedRow{id: v[0].String(), lm: v[1].Int(), deleted: v[2].Bool(), data: raw}
}

// feedPage is one read.
type feedPage struct {
	exists bool
	rows   []feedRow
	// pending counts the changes after the rows that the limit left out.
	pending int
	// end is the position after every row; when the read was not cut by
	// its limit, it may be past the last row (nothing else came before).
	end feedCursor
}

// feedSource is what a feed reads: a collection through Source.
// ReadChanges, or the monitor through the registry's view.
type feedSource interface {
	// parseSince reads a since value other than "now".
	parseSince(s string) (feedCursor, error)
	// now is the current position.
	now(ctx context.Context) (feedCursor, bool, error)
	// nowIsLocal reports whether now reads in this process, with no
	// round trip to an upstream.
	nowIsLocal() bool
	// read returns the changes after cur (all of them, newest first, when
	// descending), at most limit (> 0) of them.
	// noPending says the caller reads on anyway: pending may be -1.
	read(ctx context.Context, after feedCursor, limit int, descending, noPending bool) (*feedPage, error)
	// appendSeq appends the JSON seq of a position.
	appendSeq(b []byte, c feedCursor) []byte
	// join joins the listeners of what the feed reads.
	join() (*feedTopic, func())
	// flightKey names a read for coalescing.
	flightKey(after feedCursor, limit int, descending bool) string
}

// collectionFeed reads a collection's changes.
type collectionFeed struct {
	key Key
	src Source
	hub *Hub
}

func (f *collectionFeed) join() (*feedTopic, func()) { return f.hub.join(f.key, nil) }

func (f *collectionFeed) parseSince(s string) (feedCursor, error) {
	n, _, ok := parseSeq(s)
	if !ok {
		return feedCursor{}, badRequest(reasonSince)
	}
	return feedCursor{pos: n}, nil
}

// localSource is implemented by a Source that reads in this process (the
// embedded docstore); a sidecar's Source asks its upstream.
type localSource interface{ Local() bool }

func (f *collectionFeed) nowIsLocal() bool {
	l, ok := f.src.(localSource)
	return ok && l.Local()
}

func (f *collectionFeed) now(ctx context.Context) (feedCursor, bool, error) {
	p, err := f.src.ReadChanges(ctx, f.key, ChangesQuery{Limit: 1, Descending: true, NoPending: true})
	if err != nil || !p.Exists {
		return feedCursor{}, false, err
	}
	cur := feedCursor{pos: p.Timestamp}
	if len(p.Changes) > 0 {
		cur.pos = max(cur.pos, gjson.GetBytes(p.Changes[0], "last_modified").Int())
	}
	return cur, true, nil
}

func (f *collectionFeed) read(ctx context.Context, after feedCursor, limit int, descending, noPending bool) (*feedPage, error) {
	q := ChangesQuery{Since: after.pos, Limit: limit, Descending: descending, NoPending: noPending}
	if descending {
		q.Since = 0
	}
	p, err := f.src.ReadChanges(ctx, f.key, q)
	if err != nil {
		return nil, err
	}
	page := &feedPage{exists: p.Exists, pending: p.Pending, end: after, rows: make([]feedRow, 0, len(p.Changes))}
	meta := p.Meta
	if len(meta) != len(p.Changes) {
		meta = nil
	}
	for i, raw := range p.Changes {
		row := rowOf(raw, meta, i)
		row.cur = feedCursor{pos: row.lm}
		page.rows = append(page.rows, row)
		page.end.pos = max(page.end.pos, row.lm)
	}
	if descending && len(page.rows) > 0 {
		page.end = page.rows[len(page.rows)-1].cur
	}
	return page, nil
}

func (f *collectionFeed) appendSeq(b []byte, c feedCursor) []byte {
	return appendQuoted(b, strconv.FormatInt(c.pos, 10))
}

func (f *collectionFeed) flightKey(after feedCursor, limit int, descending bool) string {
	return fmt.Sprintf("c\x00%s\x00%s\x00%d\x00%d\x00%t", f.key.Bucket, f.key.Collection, after.pos, limit, descending)
}

// monitorFeed reads the monitor view: one row per monitored collection
// the caller may see, at its latest records timestamp, in
// registry-version order.
type monitorFeed struct {
	view Monitor
	hub  *Hub
	// render is the view as the caller sees it; reads are shared only
	// between feeds of the same who ("" for the view every anonymous
	// caller shares).
	render func() MonitorView
	who    string
}

// monitorFeed is the monitor feed for the caller of r.
func (h *Handler) monitorFeed(r *http.Request) *monitorFeed {
	render, who := h.monitor.Reader(r)
	return &monitorFeed{view: h.monitor, hub: h.hub, render: render, who: who}
}

func (f *monitorFeed) join() (*feedTopic, func()) { return f.hub.join(Key{}, f.view) }

// parseSince reads "<version>-<epoch>.<ts>" seqs; one of another epoch,
// or a plain integer timestamp, positions by time.
func (f *monitorFeed) parseSince(s string) (feedCursor, error) {
	n, opaque, ok := parseSeq(s)
	if !ok {
		return feedCursor{}, badRequest(reasonSince)
	}
	if opaque == "" {
		if n == 0 {
			return feedCursor{}, nil
		}
		return feedCursor{ts: n, byTime: true}, nil
	}
	epoch, tsText, ok := cutLast(opaque, '.')
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if !ok || err != nil {
		return feedCursor{}, badRequest(reasonSince)
	}
	if epoch == f.hub.epoch {
		return feedCursor{pos: n, ts: ts}, nil
	}
	// Another process's versions mean nothing here: replay the entries
	// of that millisecond too (a repeat, never a miss).
	return feedCursor{ts: ts, byTime: true, inclusive: true}, nil
}

func cutLast(s string, sep byte) (before, after string, ok bool) {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == sep {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func (f *monitorFeed) nowIsLocal() bool { return true }

func (f *monitorFeed) now(context.Context) (feedCursor, bool, error) {
	r := f.render()
	return feedCursor{pos: int64(r.Version()), ts: r.Timestamp()}, true, nil
}

// read lists the entries after the position in version order (newest
// version first when descending).
func (f *monitorFeed) read(_ context.Context, after feedCursor, limit int, descending, _ bool) (*feedPage, error) {
	r := f.render()
	entries := make([]int, 0, r.Len())
	for i := range r.Len() {
		if descending || after.follows(r.Entry(i)) {
			entries = append(entries, i)
		}
	}
	slices.SortFunc(entries, func(a, b int) int {
		ca, _ := r.Entry(a)
		cb, _ := r.Entry(b)
		return cmp.Compare(ca, cb)
	})
	if descending {
		slices.Reverse(entries)
	}
	page := &feedPage{exists: true, end: feedCursor{pos: int64(r.Version()), ts: r.Timestamp()}}
	if !descending && after.pos > page.end.pos && !after.byTime {
		page.end = after
	}
	if limit > 0 && len(entries) > limit {
		page.pending = len(entries) - limit
		entries = entries[:limit]
	}
	for _, i := range entries {
		changed, ts := r.Entry(i)
		data := r.EntryJSON(i)
		page.rows = append(page.rows, feedRow{
			cur:  feedCursor{pos: int64(changed), ts: ts},
			id:   gjson.GetBytes(data, "id").String(),
			lm:   ts,
			data: data,
		})
	}
	if n := len(page.rows); n > 0 && (descending || page.pending > 0) {
		page.end = page.rows[n-1].cur
	}
	return page, nil
}

// follows reports whether the entry that changed at version changed,
// with records timestamp ts, comes after position c.
func (c feedCursor) follows(changed uint64, ts int64) bool {
	switch {
	case !c.byTime:
		return int64(changed) > c.pos
	case c.inclusive:
		return ts >= c.ts
	}
	return ts > c.ts
}

func (f *monitorFeed) appendSeq(b []byte, c feedCursor) []byte {
	return appendQuoted(b, strconv.FormatInt(c.pos, 10), "-", f.hub.epoch, ".", strconv.FormatInt(c.ts, 10))
}

func (f *monitorFeed) flightKey(after feedCursor, limit int, descending bool) string {
	return fmt.Sprintf("m\x00%p\x00%s\x00%d\x00%d\x00%t\x00%t\x00%d\x00%t", f.view, f.who, after.pos, after.ts, after.byTime, after.inclusive, limit, descending)
}
