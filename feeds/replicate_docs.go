package feeds

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/changegate/changegate/kinto"
)

// docWant is a document a replicator asks for: its id and, optionally,
// the revision it saw in a feed.
type docWant struct {
	id, rev string
	// gen is the generation rev names (0: no usable rev).
	gen int64
}

// newDocWant parses a wanted revision "<generation>-<hash>".
func newDocWant(id, rev string) docWant {
	d := docWant{id: id, rev: rev}
	if gen, _, ok := strings.Cut(rev, "-"); ok {
		if n, err := strconv.ParseInt(gen, 10, 64); err == nil && n > 0 {
			d.gen = n
		}
	}
	return d
}

// lookupDocs reads the current version (record or tombstone) of every
// wanted document through the feed's source: by id from a source that
// reads so (the docstore), else from its changes.
func lookupDocs(ctx context.Context, src feedSource, wants []docWant) (map[string]feedRow, bool, error) {
	if c, ok := src.(*collectionFeed); ok {
		if r, ok := c.src.(kinto.DocReader); ok {
			return readDocs(ctx, r, c.key, wants)
		}
	}
	return scanDocs(ctx, src, wants)
}

// readDocs reads the wanted documents by id.
func readDocs(ctx context.Context, r kinto.DocReader, key Key, wants []docWant) (map[string]feedRow, bool, error) {
	ids := make([]string, 0, len(wants))
	for _, d := range wants {
		ids = append(ids, d.id)
	}
	p, err := r.ReadDocs(ctx, key, ids)
	if err != nil || !p.Exists {
		return nil, false, err
	}
	found := make(map[string]feedRow, len(p.Changes))
	for i, raw := range p.Changes {
		row := rowOf(raw, p.Meta, i)
		found[row.id] = row
	}
	return found, true, nil
}

// scanDocs finds the wanted documents in the source's changes. A
// collection's changes list each record once, at its latest change,
// which is never older than a revision a feed gave; where revisions
// are generated from last_modified (a sidecar), reading the changes from
// the oldest wanted revision on finds them all, and a batch fetched
// right after the feed that listed it costs one read of the same rows.
// A want without a revision reads from the start.
func scanDocs(ctx context.Context, src feedSource, wants []docWant) (map[string]feedRow, bool, error) {
	ids := make(map[string]bool, len(wants))
	from := int64(math.MaxInt64)
	for _, d := range wants {
		ids[d.id] = true
		from = min(from, d.gen)
	}
	cur := feedCursor{}
	if _, ok := src.(*collectionFeed); ok && from > 0 {
		cur.pos = from - 1
	}
	found := make(map[string]feedRow, len(ids))
	limit := max(len(ids), 1)
	for len(found) < len(ids) {
		page, err := src.read(ctx, cur, limit, false, true)
		if err != nil || !page.exists {
			return nil, false, err
		}
		for _, row := range page.rows {
			if ids[row.id] {
				found[row.id] = row
			}
		}
		if len(page.rows) == 0 || (page.pending == 0 && len(page.rows) < limit) {
			break
		}
		cur, limit = page.rows[len(page.rows)-1].cur, feedBatch
	}
	return found, true, nil
}

// pick is what answers a wanted revision: the current version when it
// is that revision, or, with latest, any newer one (the one we keep
// descends from every older one); ok is false when it is missing: an
// older version's body is not kept, as after CouchDB's compaction.
func pick(d docWant, row feedRow, have, latest bool) (string, bool) {
	if !have {
		return "", false
	}
	gen := row.revGen()
	rev := revOf(row.id, gen)
	switch {
	case d.rev == "" || d.rev == rev:
		return rev, true
	case latest && d.gen > 0 && d.gen <= gen && d.rev == revOf(d.id, d.gen):
		// A rev we issued for an older version of the record.
		return rev, true
	}
	return "", false
}

// What one request may ask for (docs/security.md). A replicator asks for
// a batch of documents (PouchDB 100, CouchDB's replicator 500) and for
// the few open revisions of one; every document answered may carry
// revsLimit revision hashes (35 KB), and the same id may be asked for
// again and again, so these bound the answer to a small request.
const (
	maxReplicaDocs = 1000
	maxOpenRevs    = 100
)

// revsLimit bounds a document's _revisions, as CouchDB's default
// revs_limit does: a replica more than this many versions behind sees
// the new version as a conflicting branch (it would on CouchDB too).
const revsLimit = 1000

// appendReplicaDoc renders a document as CouchDB does (couch_doc
// to_json_obj): _id, _rev, _deleted for a tombstone, the fields, then,
// with revs, _revisions.
func appendReplicaDoc(b []byte, row feedRow, rev string, revs bool) []byte {
	start := len(b)
	b = appendDoc(b, row, rev)
	if !revs {
		return b
	}
	b = bytes.TrimRight(b, " \t\r\n")
	b = b[:len(b)-1]
	if len(b) > start+1 {
		b = append(b, ',')
	}
	return append(appendRevisions(b, row), '}')
}

// appendRevisions renders "_revisions":{"start":n,"ids":[...]}: the
// revision's history, newest first, computed again from the generation
// (appendRev), stemmed to revsLimit. Where the generation is a
// last_modified (no count kept), the history is the revision alone.
func appendRevisions(b []byte, row feedRow) []byte {
	gen := row.revGen()
	oldest := gen
	if row.gen > 0 {
		oldest = max(1, gen-revsLimit+1)
	}
	b = append(b, `"_revisions":{"start":`...)
	b = strconv.AppendInt(b, gen, 10)
	b = append(b, `,"ids":[`...)
	for g := gen; g >= oldest; g-- {
		if g < gen {
			b = append(b, ',')
		}
		b = append(b, '"')
		b = appendRevHash(b, row.id, g)
		b = append(b, '"')
	}
	return append(b, "]}"...)
}

// appendMissing renders a bulk_get error for a revision we do not have.
func appendMissing(b []byte, id, rev string) []byte {
	b = append(b, `{"error":{"id":`...)
	b = kinto.AppendJSONString(b, id)
	b = append(b, `,"rev":`...)
	if rev == "" {
		b = append(b, `"undefined"`...)
	} else {
		b = kinto.AppendJSONString(b, rev)
	}
	return append(b, `,"error":"not_found","reason":"missing"}}`...)
}

// bulkGetBody is POST {db}/_bulk_get's body.
type bulkGetBody struct {
	Docs *[]struct {
		ID  *string `json:"id"`
		Rev string  `json:"rev"`
	} `json:"docs"`
}

// serveBulkGet answers POST {db}/_bulk_get (CouchDB 2.0+): for each
// {id, rev} the document, or the error that it is missing.
func (h *Handler) serveBulkGet(w http.ResponseWriter, r *http.Request, src feedSource) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		h.sendCouchError(w, r, &feedError{status: http.StatusMethodNotAllowed, error: "method_not_allowed", reason: "Only POST allowed"})
		return
	}
	raw, err := readFeedBody(r)
	if err != nil {
		h.sendCouchError(w, r, err)
		return
	}
	var body bulkGetBody
	if docs, ok := raw["docs"]; ok {
		_ = json.Unmarshal(docs, &body.Docs)
	}
	if body.Docs == nil {
		h.sendCouchError(w, r, badRequest("Missing JSON list of 'docs'."))
		return
	}
	if len(*body.Docs) > maxReplicaDocs {
		// CouchDB's answer beyond its max_bulk_get_count.
		h.sendCouchError(w, r, &feedError{status: http.StatusRequestEntityTooLarge,
			error: "max_bulk_get_count_exceeded", reason: strconv.Itoa(maxReplicaDocs)})
		return
	}
	q := r.URL.Query()
	revs, latest := q.Get("revs") == "true", q.Get("latest") == "true"
	wants := make([]docWant, 0, len(*body.Docs))
	for _, d := range *body.Docs {
		if d.ID == nil || *d.ID == "" {
			h.sendCouchError(w, r, badRequest("Document id must be a non-empty string."))
			return
		}
		wants = append(wants, newDocWant(*d.ID, d.Rev))
	}
	found, exists, err := lookupDocs(r.Context(), src, wants)
	if err == nil && !exists {
		err = errNotFound()
	}
	if err != nil {
		h.sendCouchError(w, r, err)
		return
	}
	b := []byte(`{"results":[`)
	for i, d := range wants {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = kinto.AppendJSONString(b, d.id)
		b = append(b, `,"docs":[`...)
		row, have := found[d.id]
		if rev, ok := pick(d, row, have, latest); ok {
			b = append(b, `{"ok":`...)
			b = appendReplicaDoc(b, row, rev, revs)
			b = append(b, '}')
		} else {
			b = appendMissing(b, d.id, d.rev)
		}
		b = append(b, "]}"...)
	}
	h.sendJSON(w, r, http.StatusOK, append(b, "]}\n"...))
}

// serveDoc answers GET {db}/{docid}: the current version, the one rev
// names, or with open_revs a list of them, as JSON or, when the client
// does not accept JSON, multipart/mixed (CouchDB's default for
// open_revs).
func (h *Handler) serveDoc(w http.ResponseWriter, r *http.Request, src feedSource, id string) {
	q := r.URL.Query()
	revs, latest := q.Get("revs") == "true", q.Get("latest") == "true"
	var wants []docWant
	openRevs, multi := q.Get("open_revs"), q.Has("open_revs")
	switch {
	case multi && openRevs == "all":
		wants = []docWant{{id: id}}
	case multi:
		var list []string
		if err := json.Unmarshal([]byte(openRevs), &list); err != nil {
			h.sendCouchError(w, r, badRequest("Invalid JSON for open_revs: a list of revisions or \"all\""))
			return
		}
		if len(list) > maxOpenRevs {
			h.sendCouchError(w, r, badRequest("open_revs lists at most "+strconv.Itoa(maxOpenRevs)+" revisions"))
			return
		}
		for _, rev := range list {
			wants = append(wants, newDocWant(id, rev))
		}
	default:
		wants = []docWant{newDocWant(id, q.Get("rev"))}
	}
	found, exists, err := lookupDocs(r.Context(), src, wants)
	if err == nil && !exists {
		err = errNotFound()
	}
	if err != nil {
		h.sendCouchError(w, r, err)
		return
	}
	row, have := found[id]
	if !multi {
		h.serveOneDoc(w, r, wants[0], row, have, revs, latest)
		return
	}
	h.serveOpenRevs(w, r, wants, row, have, revs, latest)
}

// serveOneDoc answers GET {db}/{docid}[?rev=]: a tombstone is 404
// "deleted" unless its rev was asked for.
func (h *Handler) serveOneDoc(w http.ResponseWriter, r *http.Request, d docWant, row feedRow, have, revs, latest bool) {
	rev, ok := pick(d, row, have, latest)
	switch {
	case !ok:
		h.sendCouchError(w, r, &feedError{status: http.StatusNotFound, error: "not_found", reason: "missing"})
		return
	case row.deleted && d.rev == "":
		h.sendCouchError(w, r, &feedError{status: http.StatusNotFound, error: "not_found", reason: "deleted"})
		return
	}
	w.Header().Set("ETag", `"`+rev+`"`)
	h.sendJSON(w, r, http.StatusOK, append(appendReplicaDoc(nil, row, rev, revs), '\n'))
}

// serveOpenRevs answers open_revs: [{"ok":doc}|{"missing":rev}] as JSON
// when the client accepts it, else one part per answer.
func (h *Handler) serveOpenRevs(w http.ResponseWriter, r *http.Request, wants []docWant, row feedRow, have, revs, latest bool) {
	parts := make([][]byte, 0, len(wants))
	errs := make([]bool, 0, len(wants))
	for _, d := range wants {
		if rev, ok := pick(d, row, have, latest); ok {
			parts = append(parts, appendReplicaDoc(nil, row, rev, revs))
			errs = append(errs, false)
			continue
		}
		if d.rev == "" {
			// open_revs=all of a document that never existed.
			h.sendCouchError(w, r, &feedError{status: http.StatusNotFound, error: "not_found", reason: "missing"})
			return
		}
		parts = append(parts, appendMissingRev(nil, d.rev))
		errs = append(errs, true)
	}
	if acceptsJSON(r) {
		b := []byte{'['}
		for i, p := range parts {
			if i > 0 {
				b = append(b, ',')
			}
			if errs[i] {
				b = append(b, p...)
				continue
			}
			b = append(b, `{"ok":`...)
			b = append(b, p...)
			b = append(b, '}')
		}
		h.sendJSON(w, r, http.StatusOK, append(b, "]\n"...))
		return
	}
	boundary := newBoundary()
	var b []byte
	for i, p := range parts {
		b = append(b, "--"+boundary+"\r\nContent-Type: application/json"...)
		if errs[i] {
			b = append(b, `; error="true"`...)
		}
		b = append(b, "\r\n\r\n"...)
		b = append(b, p...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "--"+boundary+"--"...)
	w.Header().Set("Content-Type", mime.FormatMediaType("multipart/mixed", map[string]string{"boundary": boundary}))
	h.sendJSON(w, r, http.StatusOK, b)
}

// appendMissingRev renders open_revs' answer for a revision we do not
// have.
func appendMissingRev(b []byte, rev string) []byte {
	b = append(b, `{"missing":`...)
	b = kinto.AppendJSONString(b, rev)
	return append(b, '}')
}

// acceptsJSON reports whether Accept names application/json, which
// makes CouchDB answer open_revs as a JSON list.
func acceptsJSON(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		for part := range strings.SplitSeq(v, ",") {
			mt, _, _ := mime.ParseMediaType(strings.TrimSpace(part))
			if mt == "application/json" {
				return true
			}
		}
	}
	return false
}

// newBoundary is a multipart boundary, random like CouchDB's.
func newBoundary() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
