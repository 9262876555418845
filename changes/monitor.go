package changes

import (
	"net/http"
	"strconv"

	"github.com/changegate/changegate/kinto"
)

// monitorMetadataHead starts every monitor changeset body.
const monitorMetadataHead = `{"metadata":{"bucket":"monitor"},"timestamp":`

// serveMonitorChangeset answers GET
// /buckets/monitor/collections/changes/changeset: public, validated like
// any changeset, then the quoted-_expected redirect, the stale-_expected
// 204 and the old-_since redirect, in the reference's order.
func (h *Handler) serveMonitorChangeset(w http.ResponseWriter, r *http.Request, ps kinto.Params) {
	q, err := parseChangesetQuery(ps)
	if err != nil {
		h.sendError(w, r, kinto.ExposeDefault, err)
		return
	}
	if h.quotedExpected(w, r, ps, q.expected) ||
		h.staleExpected(w, r, ps, kinto.ExposeDefault) ||
		h.oldSince(w, r, ps, monitorChangesetPath, kinto.ExposeDefault) {
		return
	}
	view := h.monitorFor(r)
	timestamp := view.timestamp
	if timestamp == 0 {
		// No entry: the reference answers the current time.
		timestamp = h.nowMillis()
	}
	hd := w.Header()
	hd.Set("Last-Modified", httpDate(timestamp))
	h.setTTL(hd, monitorKey, ps)
	h.privateFor(r, hd)
	h.logExpected(q.expected, monitorKey, timestamp)
	head := strconv.AppendInt([]byte(monitorMetadataHead), timestamp, 10)
	head = append(head, `,"changes":[`...)
	changes := h.selectMonitor(view, q, h.cfg.boundLimit(q))
	h.send(w, r, http.StatusOK, kinto.ExposeDefault, head, changes, []byte("]}"))
}

// selectMonitor returns the entries a monitor changeset lists, rendered:
// newer than _since (plus those changed after the response that served
// _since, see sinceVersion), in bucket and collection, newest first, at
// most limit (0: all). The common case is a prefix of the rendered view,
// sent without copying.
func (h *Handler) selectMonitor(view *monitorRender, q changesetQuery, limit int) []byte {
	n := len(view.entries)
	version, superset := uint64(0), false
	if q.hasSince {
		n = view.newer(q.since)
		version, superset = h.view.sinceVersion(q.since)
		superset = superset && view.suffixChanged[n] > version
	}
	if !superset && q.bucket == "" && q.collection == "" {
		if limit > 0 {
			n = min(n, limit)
		}
		if n == 0 {
			return nil
		}
		return view.json[:view.ends[n-1]]
	}
	var out []byte
	count := 0
	for i, e := range view.entries {
		if limit > 0 && count == limit {
			break
		}
		listed := i < n || (superset && e.Changed > version)
		if !listed || (q.bucket != "" && e.Bucket != q.bucket) || (q.collection != "" && e.Collection != q.collection) {
			continue
		}
		if count > 0 {
			out = append(out, ',')
		}
		out = append(out, view.entryJSON(i)...)
		count++
	}
	return out
}
