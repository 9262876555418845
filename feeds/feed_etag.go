package feeds

import (
	"fmt"
	"maps"
	"net/http"
	"slices"

	"github.com/changegate/changegate/conditional"
)

// A normal feed carries an ETag and answers If-None-Match with 304, as
// CouchDB's does (chttpd_db handle_changes_req, etag_respond). CouchDB
// hashes the database's info only, so one tag stands for every since and
// limit while the database is unchanged; ours hashes the request's
// parameters too, so that a tag names one body: the feed's position when
// the request came and what the request asked for. The position is read
// before the rows are, so a tag never claims a newer state than its body
// (a write in between only costs the next request its 304). That read
// is only made where it stays in the process: a sidecar's collection
// feeds carry no tag, as it would cost every normal feed a request to
// the upstream.

// revalidate gives a GET or HEAD normal feed its tag and reports whether
// it was answered 304. A feed that cannot be read is left to the read
// that follows, which answers the error. A feed from since=now or a
// descending one already read its position (f.cur): that is the tag's.
func (f *feed) revalidate(w http.ResponseWriter, r *http.Request) bool {
	if f.fr.feed != feedNormal || (r.Method != http.MethodGet && r.Method != http.MethodHead) || !f.src.nowIsLocal() {
		return false
	}
	now := f.cur
	if f.fr.since != "now" && !f.fr.descending {
		var exists bool
		var err error
		if now, exists, err = f.src.now(r.Context()); err != nil || !exists {
			return false
		}
	}
	f.etag = f.tag(r.URL.Path, now)
	tag, _ := conditional.ParseTag(f.etag)
	v := conditional.Validators{ETag: tag, HasTag: true}
	if conditional.Evaluate(r.Method, r.Header, v) != conditional.NotModified {
		return false
	}
	hd := w.Header()
	hd.Set("ETag", f.etag)
	hd.Set("Cache-Control", "must-revalidate")
	f.h.access.Decorate(r, http.StatusNotModified, hd)
	w.WriteHeader(http.StatusNotModified)
	return true
}

// tag hashes what a normal feed's body depends on: the feed (its path),
// its position and the parameters that shape the rows.
func (f *feed) tag(path string, now feedCursor) string {
	fr := f.fr
	b := append([]byte(path), 0)
	b = f.src.appendSeq(b, now)
	b = fmt.Appendf(b, "\x00%s\x00%d\x00%t\x00%t\x00%t\x00%d\x00%t",
		fr.since, fr.limit, fr.descending, fr.includeDocs, fr.allDocs, fr.seqInterval, fr.docIDs != nil)
	for _, id := range slices.Sorted(maps.Keys(fr.docIDs)) {
		b = append(b, 0)
		b = append(b, id...)
	}
	return conditional.BodyETag(b)
}
