package feeds

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/changegate/changegate/kinto"
)

// CouchDB pull replication: besides _changes and GET {db}/ (feed.go),
// a replicator reads documents (_bulk_get, GET {db}/{docid} with
// open_revs, _all_docs) and keeps its checkpoint in _local/{id}. Every
// record has one revision, the rev its feed rows carry, so a replica
// gets the newest version of each record and the newest wins. Pushing
// (_revs_diff, _bulk_docs) is refused. See docs/feeds.md.

// Endpoints below a collection (or the monitor) a replicator reads.
const (
	routeReplicate route = 100 + iota
	routeBulkGet
	routeAllDocs
	routeLocalDoc
	routePushOnly
	routeDoc
)

// replicationRoute finds a replication endpoint in a path below the
// version prefix, with the document id it names. A single segment
// after the collection is a document, except the collection's own Kinto
// resources (records, changeset) and CouchDB's reserved names.
func replicationRoute(rest string) (route, Key, string) {
	bucketRest, ok := strings.CutPrefix(rest, "/buckets/")
	if !ok {
		return routeNone, Key{}, ""
	}
	bid, collRest, ok := strings.Cut(bucketRest, "/collections/")
	if !ok || bid == "" || strings.Contains(bid, "/") {
		return routeNone, Key{}, ""
	}
	cid, tail, ok := strings.Cut(collRest, "/")
	if !ok || cid == "" || tail == "" {
		return routeNone, Key{}, ""
	}
	k := Key{Bucket: bid, Collection: cid}
	switch tail {
	case "_bulk_get":
		return routeBulkGet, k, ""
	case "_all_docs":
		return routeAllDocs, k, ""
	case "_revs_diff", "_bulk_docs":
		return routePushOnly, k, tail
	case "records", "changeset":
		return routeNone, Key{}, ""
	}
	if id, ok := strings.CutPrefix(tail, "_local/"); ok && id != "" {
		return routeLocalDoc, k, id
	}
	if strings.HasPrefix(tail, "_") || strings.Contains(tail, "/") {
		return routeNone, Key{}, ""
	}
	return routeDoc, k, tail
}

// handlesReplication reports whether a replication endpoint answers the
// method: a document is only read here (Kinto's routes own the others).
func handlesReplication(rt route, method string) bool {
	return rt != routeDoc || method == http.MethodGet || method == http.MethodHead
}

// Replicators is what an Access adds for checkpoints: who owns them
// and who may write them.
type Replicators interface {
	// Owner names the caller whose checkpoints a request reads and
	// writes.
	Owner(r *http.Request) (string, error)
	// CanWrite returns nil when the caller may write the collection's
	// records, else the error to answer (401 or 403 as a
	// *kinto.Error).
	CanWrite(r *http.Request, key Key) error
}

// Checkpoints stores replication checkpoints (CouchDB's _local
// documents) per collection and owner, out of sight of the records and
// feeds, removed with their collection.
type Checkpoints interface {
	// ReadCheckpoint returns the document (nil: none) and whether the
	// collection exists.
	ReadCheckpoint(ctx context.Context, key Key, owner, id string) (doc json.RawMessage, exists bool, err error)
	// WriteCheckpoint replaces the document stored (nil: none) with what
	// update returns (nil deletes), unless update declines; update may
	// run more than once.
	WriteCheckpoint(ctx context.Context, key Key, owner, id string, update func(cur json.RawMessage) (json.RawMessage, bool)) (written, exists bool, err error)
}

// serveReplication answers a replication endpoint.
func (h *Handler) serveReplication(w http.ResponseWriter, r *http.Request, rt route, k Key) bool {
	_, _, id := replicationRoute(strings.TrimPrefix(r.URL.Path, h.cfg.Prefix))
	monitor := k == monitorKey
	if rt == routePushOnly {
		h.sendCouchError(w, r, &feedError{status: http.StatusNotImplemented, error: "not_implemented",
			reason: id + " is not supported: this database is a pull-only replication source; write records through the Kinto API"})
		return true
	}
	var src feedSource
	if monitor {
		src = h.monitorFeed(r)
	} else {
		if err := h.access.CanRead(r, k); err != nil {
			h.sendCouchError(w, r, err)
			return true
		}
		src = &collectionFeed{key: k, src: h.source, hub: h.hub}
	}
	switch rt {
	case routeBulkGet:
		h.serveBulkGet(w, r, src)
	case routeAllDocs:
		h.serveAllDocs(w, r, src)
	case routeLocalDoc:
		h.serveLocalDoc(w, r, k, id)
	case routeDoc:
		h.serveDoc(w, r, src, id)
	}
	return true
}

// sendCouchError answers err in CouchDB's shape: the store's 401, 403
// and 404 become unauthorized, forbidden and not_found (keeping their
// headers and message), so that replicators read the status and reason
// they know; other failures are Kinto's 503.
func (h *Handler) sendCouchError(w http.ResponseWriter, r *http.Request, err error) {
	var ke *kinto.Error
	if errors.As(err, &ke) {
		name := map[int]string{http.StatusUnauthorized: "unauthorized", http.StatusForbidden: "forbidden", http.StatusNotFound: "not_found"}[ke.Code]
		if name == "" {
			h.sendError(w, r, kinto.ExposeDefault, err)
			return
		}
		for k, v := range ke.Header() {
			w.Header()[k] = v
		}
		reason := ke.Message
		if ke.Code == http.StatusNotFound {
			reason = "Database does not exist."
		}
		err = &feedError{status: ke.Code, error: name, reason: reason}
	}
	h.sendFeedError(w, r, err)
}

// sendJSON answers a CouchDB JSON body.
func (h *Handler) sendJSON(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	w.Header().Set("Cache-Control", "must-revalidate")
	h.send(w, r, status, "", body)
}
