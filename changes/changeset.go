package changes

import (
	"fmt"
	"math/big"
	"net/http"
	"strings"

	"github.com/changegate/changegate/kinto"
)

// serveChangeset answers GET /buckets/{bid}/collections/{cid}/changeset:
// the collection's read permission first (401/403), then the querystring
// (400), then its existence (404), as the reference orders them.
func (h *Handler) serveChangeset(w http.ResponseWriter, r *http.Request, k kinto.Key, ps kinto.Params) {
	denied := h.access.CanRead(r, k)
	if denied != nil && !isNotFound(denied) {
		h.sendError(w, r, kinto.ExposeDefault, denied)
		return
	}
	q, err := parseChangesetQuery(ps)
	if err != nil {
		h.sendError(w, r, kinto.ExposeDefault, err)
		return
	}
	if denied != nil {
		h.sendError(w, r, kinto.ExposeDefault, denied)
		return
	}
	rc, how, err := h.state.changeset(k, q.since, q.hasSince, h.cfg.boundLimit(q))
	switch {
	case err != nil:
		h.sendError(w, r, kinto.ExposeDefault, err)
		return
	case rc == nil:
		h.sendError(w, r, kinto.ExposeDefault, errNotFound())
		return
	}
	hd := w.Header()
	hd.Set("Last-Modified", httpDate(rc.lastModified))
	h.setTTL(hd, k, ps)
	// RFC 9211: whether this answer came from the changeset cache, from
	// this request's storage read, or from another's it waited for.
	hd.Set("Cache-Status", "changegate; "+how)
	h.logExpected(q.expected, k, rc.lastModified)
	h.send(w, r, http.StatusOK, kinto.ExposeDefault, rc.body)
}

// setTTL sets Cache-Control and Expires by the _expected rules of the
// collection (_handle_cache_expires).
func (h *Handler) setTTL(hd http.Header, k kinto.Key, ps kinto.Params) {
	expected, _ := ps.Get("_expected")
	if ttl, ok := h.ttls.pick(k, expected); ok {
		setCacheExpires(hd, ttl, h.now())
	}
}

// logExpected logs a client that was not served the timestamp it
// expected: not for non-numeric, non-positive or cache-busting values
// (kinto.IsCacheBuster, the rule that also picks the TTL).
func (h *Handler) logExpected(expected string, k kinto.Key, served int64) {
	n, ok := kinto.PyInt(strings.Trim(expected, `"`))
	if !ok || n.Sign() <= 0 || n.Cmp(big.NewInt(served)) == 0 || kinto.IsCacheBuster(n.String()) {
		return
	}
	h.logger.Info(fmt.Sprintf("Client expected %s on %s/%s but was served %d timestamp", n, k.Bucket, k.Collection, served),
		"expected", n.String(), "timestamps", served, "bucket", k.Bucket, "collection", k.Collection)
}
