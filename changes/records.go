package changes

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/changegate/changegate/kinto"
	"github.com/changegate/changegate/kinto/query"
)

// entryFields are the monitor entries' fields besides id and
// last_modified: the reference's ChangesSchema, which refuses filters,
// sorting and _fields on anything else.
var entryFields = []string{"host", "bucket", "collection"}

// serveRecords answers GET /buckets/monitor/collections/changes/records,
// the legacy endpoint (Firefox < 88): a Kinto list over the monitor
// entries, public, where a matching If-None-Match gets 200 and an empty
// list instead of a 304 (CDNs do not cache 304s).
func (h *Handler) serveRecords(w http.ResponseWriter, r *http.Request, ps kinto.Params) {
	expose := kinto.ExposePluralRead
	if r.Method == http.MethodHead {
		expose = kinto.ExposePluralHead
	}
	// The reference checks these before validating anything.
	if h.staleExpected(w, r, ps, expose) || h.oldSince(w, r, ps, monitorRecordsPath, expose) {
		return
	}
	prec, err := kinto.ParsePreconditions(r.Header)
	if err != nil {
		h.sendError(w, r, expose, err)
		return
	}
	q, err := h.parseListQuery(ps.Values())
	if err != nil {
		h.sendError(w, r, expose, err)
		return
	}
	view := h.monitorFor(r)
	timestamp := view.timestamp
	if timestamp == 0 {
		timestamp = h.nowMillis()
	}
	if prec.Failed(true, timestamp) && !prec.NotModified(timestamp) {
		e := kinto.ModifiedMeanwhile()
		e.WithHeader("ETag", etag(timestamp)).WithHeader("Last-Modified", httpDate(timestamp))
		h.sendError(w, r, expose, e)
		return
	}
	hd := w.Header()
	hd.Set("ETag", etag(timestamp))
	hd.Set("Last-Modified", httpDate(timestamp))
	hd.Set("Cache-Control", "no-cache, no-store")
	h.setTTL(hd, monitorKey, ps)
	h.privateFor(r, hd)
	if prec.NotModified(timestamp) {
		h.send(w, r, http.StatusOK, expose, []byte(`{"data":[]}`))
		return
	}
	found, err := h.listEntries(view, q, ps)
	if err != nil {
		h.sendError(w, r, expose, err)
		return
	}
	if r.Method == http.MethodHead {
		n := strconv.Itoa(len(found))
		hd.Set("Total-Objects", n)
		hd.Set("Total-Records", n)
		h.send(w, r, http.StatusOK, expose, []byte(`{"data":[]}`))
		return
	}
	h.sendList(w, r, view, q, found, expose)
}

// parseListQuery validates a list query string against the entries'
// schema.
func (h *Handler) parseListQuery(values url.Values) (*query.Query, error) {
	q, err := query.Parse(values, query.Options{
		Now:        h.nowMillis(),
		PaginateBy: h.cfg.PaginateBy,
		MaxFetch:   h.cfg.StorageMaxFetchSize,
		Strict:     func(root string) bool { return slices.Contains(entryFields, root) },
	})
	var qe *query.Error
	if errors.As(err, &qe) {
		return nil, qe.Kinto()
	}
	return q, err
}

// listEntries returns the indexes of the entries matching q, in q's
// order. A _since that this view served as its timestamp also lists the
// entries changed since that answer (see sinceVersion) that match the
// rest of the query.
func (h *Handler) listEntries(view *monitorRender, q *query.Query, ps kinto.Params) ([]int, error) {
	extra := func(int) bool { return false }
	rest := q
	if since, ok := monitorSince(ps); ok {
		if version, ok := h.view.sinceVersion(since); ok && view.suffixChanged[view.newer(since)] > version {
			var err error
			if rest, err = h.parseListQuery(ps.Without("_since").Values()); err != nil {
				return nil, err
			}
			extra = func(i int) bool { return view.entries[i].Changed > version }
		}
	}
	decoded := view.decodedEntries()
	var found []int
	for i, d := range decoded {
		if q.Match(d) || (extra(i) && rest.Match(d)) {
			found = append(found, i)
		}
	}
	if !q.DefaultOrder() {
		slices.SortStableFunc(found, func(a, b int) int { return q.Compare(decoded[a], decoded[b]) })
	}
	return found, nil
}

// sendList writes one page of entries, with Next-Page when there is more.
func (h *Handler) sendList(w http.ResponseWriter, r *http.Request, view *monitorRender, q *query.Query, found []int, expose string) {
	decoded := view.decodedEntries()
	if len(found) > q.Limit {
		found = found[:q.Limit]
		// Kinto's offset counts what it fetched: the page and one more.
		w.Header().Set("Next-Page", h.nextPage(r, q, decoded[found[len(found)-1]], q.Offset+len(found)+1))
	}
	body := []byte(`{"data":[`)
	for i, idx := range found {
		if i > 0 {
			body = append(body, ',')
		}
		if len(q.Fields) == 0 {
			body = append(body, view.entryJSON(idx)...)
			continue
		}
		projected, err := json.Marshal(q.Project(decoded[idx]))
		if err != nil {
			h.sendError(w, r, expose, err)
			return
		}
		body = append(body, projected...)
	}
	body = append(body, "]}"...)
	h.send(w, r, http.StatusOK, expose, body)
}

// nextPage is the URL of the next page: the same query with _limit and a
// continuation token after last.
func (h *Handler) nextPage(r *http.Request, q *query.Query, last map[string]any, offset int) string {
	values := kinto.ParseParams(r.URL.RawQuery).Values()
	values.Set("_limit", strconv.Itoa(q.Limit))
	values.Set("_token", q.NextPageToken(last, offset))
	return requestOrigin(r) + h.cfg.Prefix + monitorRecordsPath + "?" + values.Encode()
}

// etag is a quoted timestamp.
func etag(ts int64) string { return `"` + strconv.FormatInt(ts, 10) + `"` }

// monitorSince reads a plain or quoted integer _since, for the rule of
// listEntries.
func monitorSince(ps kinto.Params) (int64, bool) {
	v, ok := ps.Get("_since")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseInt(strings.Trim(v, `"`), 10, 64)
	return n, err == nil
}
