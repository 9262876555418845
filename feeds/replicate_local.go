package feeds

import (
	"cmp"
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/changegate/changegate/kinto"
)

// Checkpoints live in _local/{id} of the database replicated from
// (pouchdb-checkpointer writes one on the source and one on the target).
// Here they are kept per collection and per caller, never listed as
// records nor in a feed, and removed with the collection. Writing one
// takes the collection's write permission: a reader without it gets
// CouchDB's 401 or 403, on which PouchDB keeps its checkpoint on the
// target only (any 4xx of a source checkpoint write turns
// writeSourceCheckpoint off).

// errReadOnlyMonitor refuses checkpoints on the monitor, which nobody
// writes.
var errReadOnlyMonitor = &feedError{status: http.StatusForbidden, error: "forbidden", reason: "the monitor is read-only: keep the checkpoint on the target"}

// serveLocalDoc answers GET, PUT and DELETE of {db}/_local/{id}.
func (h *Handler) serveLocalDoc(w http.ResponseWriter, r *http.Request, k Key, id string) {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodDelete:
	default:
		w.Header().Set("Allow", "DELETE,GET,HEAD,PUT")
		h.sendCouchError(w, r, &feedError{status: http.StatusMethodNotAllowed, error: "method_not_allowed", reason: "Only DELETE,GET,HEAD,PUT allowed"})
		return
	}
	reps, ok := h.access.(Replicators)
	store, stores := h.source.(Checkpoints)
	if !ok || !stores {
		h.sendCouchError(w, r, &feedError{status: http.StatusNotImplemented, error: "not_implemented", reason: "this server keeps no checkpoints: keep the checkpoint on the target"})
		return
	}
	owner, err := reps.Owner(r)
	if err != nil {
		h.sendCouchError(w, r, err)
		return
	}
	write := r.Method == http.MethodPut || r.Method == http.MethodDelete
	switch {
	case k == monitorKey && !write:
		h.sendCouchError(w, r, &feedError{status: http.StatusNotFound, error: "not_found", reason: "missing"})
		return
	case k == monitorKey && owner == "":
		h.sendCouchError(w, r, &feedError{status: http.StatusUnauthorized, error: "unauthorized", reason: "Please authenticate yourself to use this endpoint."})
		return
	case k == monitorKey:
		h.sendCouchError(w, r, errReadOnlyMonitor)
		return
	case write:
		if err := reps.CanWrite(r, k); err != nil {
			h.sendCouchError(w, r, err)
			return
		}
	}
	lc := localCall{h: h, w: w, r: r, k: k, owner: owner, id: id, store: store}
	switch r.Method {
	case http.MethodPut:
		lc.put()
	case http.MethodDelete:
		lc.delete()
	default:
		lc.get()
	}
}

// localCall is one request on a checkpoint.
type localCall struct {
	h     *Handler
	w     http.ResponseWriter
	r     *http.Request
	k     Key
	owner string
	id    string
	store Checkpoints
}

// docID is the id the document carries.
func (c *localCall) docID() string { return "_local/" + c.id }

func (c *localCall) get() {
	doc, exists, err := c.store.ReadCheckpoint(c.r.Context(), c.k, c.owner, c.id)
	switch {
	case err == nil && !exists:
		err = errNotFound()
	case err == nil && doc == nil:
		err = &feedError{status: http.StatusNotFound, error: "not_found", reason: "missing"}
	}
	if err != nil {
		c.h.sendCouchError(c.w, c.r, err)
		return
	}
	c.h.sendJSON(c.w, c.r, http.StatusOK, append(doc, '\n'))
}

// put stores the body with _id and a new _rev "0-N", when the _rev it
// names (body or ?rev=) is the one stored: CouchDB's conflict otherwise.
func (c *localCall) put() {
	body, err := readLocalBody(c.r)
	if err != nil {
		c.h.sendCouchError(c.w, c.r, err)
		return
	}
	var rev string
	if raw, ok := body["_rev"]; ok {
		_ = json.Unmarshal(raw, &rev)
	}
	rev = cmp.Or(rev, c.r.URL.Query().Get("rev"))
	id, _ := json.Marshal(c.docID())
	body["_id"] = id
	var next string
	written, exists, err := c.store.WriteCheckpoint(c.r.Context(), c.k, c.owner, c.id, func(cur json.RawMessage) (json.RawMessage, bool) {
		n, ok := localRevMatches(cur, rev)
		next = "0-" + strconv.Itoa(n+1)
		body["_rev"] = json.RawMessage(strconv.Quote(next))
		doc, _ := json.Marshal(body)
		return doc, ok
	})
	switch {
	case err == nil && !exists:
		err = errNotFound()
	case err == nil && !written:
		err = &feedError{status: http.StatusConflict, error: "conflict", reason: "Document update conflict."}
	}
	if err != nil {
		c.h.sendCouchError(c.w, c.r, err)
		return
	}
	c.answer(http.StatusCreated, next)
}

// delete removes the checkpoint ?rev= names.
func (c *localCall) delete() {
	rev := c.r.URL.Query().Get("rev")
	written, exists, err := c.store.WriteCheckpoint(c.r.Context(), c.k, c.owner, c.id, func(cur json.RawMessage) (json.RawMessage, bool) {
		_, ok := localRevMatches(cur, rev)
		return nil, ok && cur != nil
	})
	switch {
	case err == nil && !exists:
		err = errNotFound()
	case err == nil && !written:
		err = &feedError{status: http.StatusNotFound, error: "not_found", reason: "missing"}
	}
	if err != nil {
		c.h.sendCouchError(c.w, c.r, err)
		return
	}
	c.answer(http.StatusOK, "0-0")
}

// answer is CouchDB's {"ok":true,"id","rev"}.
func (c *localCall) answer(status int, rev string) {
	b := []byte(`{"ok":true,"id":`)
	b = kinto.AppendJSONString(b, c.docID())
	b = append(b, `,"rev":`...)
	b = kinto.AppendJSONString(b, rev)
	c.h.sendJSON(c.w, c.r, status, append(b, "}\n"...))
}

// localRevMatches reports whether rev names the stored document (none
// stored: rev must be empty), and the stored revision's number.
func localRevMatches(cur json.RawMessage, rev string) (int, bool) {
	if cur == nil {
		return 0, rev == ""
	}
	var doc struct {
		Rev string `json:"_rev"`
	}
	_ = json.Unmarshal(cur, &doc)
	n, _ := strconv.Atoi(strings.TrimPrefix(doc.Rev, "0-"))
	return n, rev == doc.Rev
}

// readLocalBody reads a checkpoint: a JSON object of at most
// maxFeedBody bytes.
func readLocalBody(r *http.Request) (map[string]json.RawMessage, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" {
			return nil, errBadContentType()
		}
	}
	raw, err := readBoundedBody(r)
	if err != nil {
		return nil, err
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(raw, &body); err != nil || body == nil {
		return nil, badRequest("Document must be a JSON object")
	}
	return body, nil
}
