package feeds

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/changegate/changegate/kinto"
)

// allDocsRequest is what GET|POST {db}/_all_docs asks.
type allDocsRequest struct {
	keys        []string
	hasKeys     bool
	includeDocs bool
	descending  bool
	limit, skip int
	// start and end bound the ids (CouchDB's raw collation of doc ids);
	// hasStart and hasEnd say whether they were given.
	start, end       string
	hasStart, hasEnd bool
	inclusiveEnd     bool
}

// parseAllDocs reads the query and, for POST, keys from the body.
func parseAllDocs(r *http.Request) (*allDocsRequest, error) {
	q := r.URL.Query()
	ar := &allDocsRequest{limit: -1, inclusiveEnd: q.Get("inclusive_end") != "false"}
	ar.includeDocs = q.Get("include_docs") == "true"
	ar.descending = q.Get("descending") == "true"
	for name, dst := range map[string]*int{"limit": &ar.limit, "skip": &ar.skip} {
		if v := q.Get(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return nil, badRequest("Invalid value for `" + name + "`: must be a non-negative integer")
			}
			*dst = n
		}
	}
	for _, b := range []struct {
		names []string
		dst   *string
		has   *bool
	}{{[]string{"startkey", "start_key", "startkey_docid", "start_key_doc_id"}, &ar.start, &ar.hasStart}, {[]string{"endkey", "end_key", "endkey_docid", "end_key_doc_id"}, &ar.end, &ar.hasEnd}} {
		for _, name := range b.names {
			if v := q.Get(name); v != "" {
				if strings.Contains(name, "doc") {
					*b.dst, *b.has = v, true
				} else if err := json.Unmarshal([]byte(v), b.dst); err != nil {
					return nil, badRequest("Invalid JSON for `" + name + "`: must be a string")
				} else {
					*b.has = true
				}
			}
		}
	}
	raw := json.RawMessage(q.Get("keys"))
	body, err := readFeedBody(r)
	if err != nil {
		return nil, err
	}
	if k, ok := body["keys"]; ok {
		raw = k
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &ar.keys); err != nil || ar.keys == nil {
			return nil, badRequest("`keys` member must be an array.")
		}
		if len(ar.keys) > maxReplicaDocs {
			return nil, badRequest("`keys` lists at most " + strconv.Itoa(maxReplicaDocs) + " ids")
		}
		ar.hasKeys = true
	}
	return ar, ar.checkWindow()
}

// serveAllDocs answers GET|POST {db}/_all_docs: the live documents in id
// order, or, with keys, the ones named (a tombstone shows its rev and
// "deleted", an unknown id "not_found").
func (h *Handler) serveAllDocs(w http.ResponseWriter, r *http.Request, src feedSource) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodPost {
		w.Header().Set("Allow", "GET,HEAD,POST")
		h.sendCouchError(w, r, &feedError{status: http.StatusMethodNotAllowed, error: "method_not_allowed", reason: "Only GET,HEAD,POST allowed"})
		return
	}
	ar, err := parseAllDocs(r)
	if err != nil {
		h.sendCouchError(w, r, err)
		return
	}
	scan, exists, err := scanAllDocs(r.Context(), src, ar)
	if err == nil && !exists {
		err = errNotFound()
	}
	if err != nil {
		h.sendCouchError(w, r, err)
		return
	}
	b := []byte(`{"total_rows":`)
	b = strconv.AppendInt(b, int64(scan.live), 10)
	if ar.hasKeys {
		b = append(b, `,"offset":null,"rows":[`...)
		b = ar.appendKeyRows(b, scan.byID)
	} else {
		rows, offset, err := scan.window()
		if err != nil {
			h.sendCouchError(w, r, err)
			return
		}
		b = append(b, `,"offset":`...)
		b = strconv.AppendInt(b, int64(offset), 10)
		b = append(b, `,"rows":[`...)
		for i, row := range rows {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, "\r\n"...)
			b = ar.appendRow(b, row)
		}
		if len(rows) > 0 {
			b = append(b, "\r\n"...)
		}
	}
	h.sendJSON(w, r, http.StatusOK, append(b, "]}\n"...))
}

// appendKeyRows renders the rows of keys, in their order.
func (ar *allDocsRequest) appendKeyRows(b []byte, byID map[string]feedRow) []byte {
	keys := ar.keys
	if ar.descending {
		keys = slices.Clone(keys)
		slices.Reverse(keys)
	}
	keys = keys[min(ar.skip, len(keys)):]
	if ar.limit >= 0 && len(keys) > ar.limit {
		keys = keys[:ar.limit]
	}
	for i, key := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, "\r\n"...)
		row, ok := byID[key]
		if !ok {
			b = append(b, `{"key":`...)
			b = kinto.AppendJSONString(b, key)
			b = append(b, `,"error":"not_found"}`...)
			continue
		}
		b = ar.appendRow(b, row)
	}
	if len(keys) > 0 {
		b = append(b, "\r\n"...)
	}
	return b
}

// appendRow renders {"id","key","value":{"rev"[,"deleted"]}[,"doc"]};
// a tombstone's doc is null, as CouchDB sends it.
func (ar *allDocsRequest) appendRow(b []byte, row feedRow) []byte {
	rev := revOf(row.id, row.revGen())
	b = append(b, `{"id":`...)
	b = kinto.AppendJSONString(b, row.id)
	b = append(b, `,"key":`...)
	b = kinto.AppendJSONString(b, row.id)
	b = append(b, `,"value":{"rev":"`...)
	b = append(b, rev...)
	b = append(b, '"')
	if row.deleted {
		b = append(b, `,"deleted":true`...)
	}
	b = append(b, '}')
	if ar.includeDocs {
		b = append(b, `,"doc":`...)
		if row.deleted {
			b = append(b, "null"...)
		} else {
			b = appendDoc(b, row, rev)
		}
	}
	return append(b, '}')
}
