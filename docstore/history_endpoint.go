package docstore

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"

	"github.com/changegate/changegate/kinto"
	"github.com/changegate/changegate/kinto/query"
)

// historyEndpoint serves /buckets/{bid}/history and the collection
// snapshots in a transaction of their own.
func (h *Handler) historyEndpoint(ctx context.Context, req *request, name string, r ref) *response {
	if h.cfg.History == nil {
		return errorResponse(errUnknownPath())
	}
	r, _ = h.personalBucket(req, r)
	var resp *response
	run := h.store.read
	if !req.isRead() {
		run = h.store.write
	}
	err := run(ctx, func(o *op) error {
		var err error
		resp, err = h.serveHistory(o, req, name, r)
		return err
	})
	if err != nil {
		return h.internalError(req, err)
	}
	return resp
}

// serveHistory answers a history or snapshot request inside o's
// transaction (also for batch sub-requests).
func (h *Handler) serveHistory(o *op, req *request, name string, r ref) (*response, error) {
	var resp *response
	var err error
	if name == "snapshot" {
		resp, err = h.snapshot(o, req, r)
	} else {
		resp, err = h.history(o, req, r)
	}
	if ke, ok := err.(*kinto.Error); ok {
		resp, err = errorResponse(ke), nil
	}
	if err != nil {
		return nil, err
	}
	resp.expose = exposeFor(r.withID(""), req.method)
	return resp, nil
}

// history answers GET, HEAD and DELETE on a bucket's history: all of it
// to those who may read (or, to delete, write) the bucket, else the
// entries of the objects they may read.
func (h *Handler) history(o *op, req *request, r ref) (*response, error) {
	if !req.isRead() && req.method != http.MethodDelete {
		return nil, errMethodNotAllowed("DELETE, GET, HEAD, OPTIONS")
	}
	if err := checkAccept(req.header); err != nil {
		return nil, err
	}
	id, err := o.identify(req.userID)
	if err != nil {
		return nil, err
	}
	c := &call{request: req, r: r, id: id}
	c.prec, err = kinto.ParsePreconditions(req.header)
	if err != nil {
		return nil, err
	}
	perm := permRead
	if req.method == http.MethodDelete {
		perm = permWrite
	}
	all := h.cfg.InsecureAllowAll
	if !all && validID(r.Bucket) {
		if all, err = o.permitted(id, ref{Kind: KindBucket, ID: r.Bucket}, perm); err != nil {
			return nil, err
		}
	}
	visible := func(obj *Object) bool { return all || id.holds(obj.Permissions[permRead]) }
	if !all && perm == permWrite {
		return nil, h.errUnauthorized(id)
	}
	if !all && !h.anyEntry(o, r, visible) {
		return nil, h.errUnauthorized(id)
	}
	c.acc = access{all: all}
	q, err := query.Parse(req.query, query.Options{Now: h.store.nowMillis(), PaginateBy: h.cfg.PaginateBy, MaxFetch: h.cfg.MaxFetch,
		Strict: func(root string) bool { return slices.Contains(historyFields, root) }})
	if qe, ok := err.(*query.Error); ok {
		return nil, fromQueryError(qe)
	} else if err != nil {
		return nil, err
	}
	q.StringifyInts("bucket_id", "collection_id", "record_id", "group_id")
	if req.method == http.MethodDelete {
		return h.deleteHistory(o, c, q, visible)
	}
	return h.listHistory(o, c, q, visible)
}

// anyEntry reports whether the caller sees at least one entry.
func (h *Handler) anyEntry(o *op, r ref, visible func(*Object) bool) bool {
	found := false
	_ = o.tx.Scan(r.parent(), KindHistory, ScanOptions{}, func(obj *Object) (bool, error) {
		found = visible(obj)
		return !found, nil
	})
	return found
}

// listHistory lists the entries like any plural endpoint.
func (h *Handler) listHistory(o *op, c *call, q *query.Query, visible func(*Object) bool) (*response, error) {
	return h.listPage(o, c, KindHistory, func() (*query.Query, error) { return q, nil }, visible)
}

// deleteHistory deletes the matching entries (Kinto allows it to bucket
// writers, with _before to trim by hand).
func (h *Handler) deleteHistory(o *op, c *call, q *query.Query, visible func(*Object) bool) (*response, error) {
	found, _, err := o.find(c.r, q, true, visible)
	if err != nil {
		return nil, err
	}
	tombs := make([]listed, 0, len(found))
	ts := int64(0)
	for _, f := range found {
		if f.obj.Deleted {
			continue
		}
		if ts, err = o.bumpTimestamp(c.r.parent(), KindHistory, 0); err != nil {
			return nil, err
		}
		tomb := &Object{ID: f.obj.ID, LastModified: ts, Deleted: true}
		if err := o.tx.Put(c.r.parent(), KindHistory, tomb); err != nil {
			return nil, err
		}
		tombs = append(tombs, listed{obj: tomb})
	}
	if ts == 0 {
		if ts, err = o.listTimestamp(c.r.parent(), KindHistory); err != nil {
			return nil, err
		}
	}
	resp := newResponse(http.StatusOK, nil)
	resp.setTimestamp(ts)
	resp.body, err = listBody(tombs, nil)
	return resp, err
}

// snapshot answers GET /buckets/{bid}/snapshot/collections/{cid}@{ts}
// (Kinto's history_snapshot): the collection's records as they were at
// ts, rebuilt from the current records and the history of those changed
// since.
func (h *Handler) snapshot(o *op, req *request, r ref) (*response, error) {
	if !req.isRead() {
		return nil, errMethodNotAllowed("GET, HEAD, OPTIONS")
	}
	at, err := strconv.ParseInt(r.ID, 10, 64)
	if err != nil || at < 0 {
		return nil, kinto.Invalid(kinto.ValidationDetail{Location: "path", Name: "timestamp", Description: "Invalid timestamp '" + r.ID + "'"})
	}
	id, err := o.identify(req.userID)
	if err != nil {
		return nil, err
	}
	allowed := h.cfg.InsecureAllowAll
	for _, owner := range []ref{{Kind: KindBucket, ID: r.Bucket}, {Kind: KindCollection, Bucket: r.Bucket, ID: r.Collection}} {
		obj, err := o.get(owner)
		if err != nil {
			return nil, err
		}
		allowed = allowed || (obj != nil && holdsAny(id, obj.Permissions, []string{permRead, permWrite}))
	}
	if !allowed {
		return nil, h.errUnauthorized(id)
	}
	records, changed, err := o.recordsAt(r, at)
	if err != nil {
		return nil, err
	}
	if len(changed) > 0 {
		older, err := o.versionsBefore(r, at, changed)
		if err != nil {
			return nil, err
		}
		records = append(records, older...)
	}
	slices.SortStableFunc(records, func(a, b snapshotRecord) int { return cmp.Compare(b.lastModified, a.lastModified) })
	out := []byte(`{"data":[`)
	for i, rec := range records {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, rec.data...)
	}
	return newResponse(http.StatusOK, append(out, "]}"...)), nil
}

// snapshotRecord is a record's data as a snapshot shows it.
type snapshotRecord struct {
	data         json.RawMessage
	lastModified int64
}

// recordsAt returns the live records not changed after at, and the ids
// of those changed (or deleted) after it.
func (o *op) recordsAt(r ref, at int64) (unchanged []snapshotRecord, changed []string, err error) {
	coll := ref{Kind: KindRecord, Bucket: r.Bucket, Collection: r.Collection}
	err = o.tx.Scan(coll.parent(), KindRecord, ScanOptions{IncludeDeleted: true, NoPermissions: true}, func(obj *Object) (bool, error) {
		switch {
		case obj.LastModified > at:
			changed = append(changed, obj.ID)
		case !obj.Deleted:
			unchanged = append(unchanged, snapshotRecord{obj.Data, obj.LastModified})
		}
		return true, nil
	})
	return unchanged, changed, err
}

// versionsBefore returns, for each record in ids, the data of its latest
// history entry at or before at (records created later have none).
func (o *op) versionsBefore(r ref, at int64, ids []string) ([]snapshotRecord, error) {
	latest := map[string]snapshotRecord{}
	err := o.tx.Scan(BucketURI(r.Bucket), KindHistory, ScanOptions{NoPermissions: true}, func(obj *Object) (bool, error) {
		var e struct {
			ResourceName string `json:"resource_name"`
			CollectionID string `json:"collection_id"`
			RecordID     string `json:"record_id"`
			Target       struct {
				Data json.RawMessage `json:"data"`
			} `json:"target"`
		}
		if err := json.Unmarshal(obj.Data, &e); err != nil {
			return false, err
		}
		if e.ResourceName != KindRecord || e.CollectionID != r.Collection || !slices.Contains(ids, e.RecordID) {
			return true, nil
		}
		var target struct {
			LastModified int64 `json:"last_modified"`
		}
		if json.Unmarshal(e.Target.Data, &target) != nil || target.LastModified > at {
			return true, nil
		}
		// Entries come newest first: the first one kept per record wins.
		if _, seen := latest[e.RecordID]; !seen {
			latest[e.RecordID] = snapshotRecord{e.Target.Data, target.LastModified}
		}
		return true, nil
	})
	out := make([]snapshotRecord, 0, len(latest))
	for _, id := range ids {
		if rec, ok := latest[id]; ok {
			out = append(out, rec)
		}
	}
	return out, err
}

// historyCapability is the "history" entry of GET /v1/: Kinto lists the
// excluded resources as their ids.
func historyCapability(cfg *HistoryConfig) map[string]any {
	c := map[string]any{"description": "Track changes on data.", "url": "http://kinto.readthedocs.io/en/latest/api/1.x/history.html"}
	if len(cfg.ExcludeResources) > 0 {
		var excluded []map[string]string
		for _, uri := range cfg.ExcludeResources {
			if rt, ok := parseRoute(uri); ok && rt.name == "resource" && !rt.ref.plural() {
				excluded = append(excluded, uriIDs(rt.ref))
			}
		}
		c["excluded_resources"] = excluded
	}
	return c
}

// uriIDs is Kinto's uri_to_dict: the ids an object URI names.
func uriIDs(r ref) map[string]string {
	switch r.Kind {
	case KindBucket:
		return map[string]string{"bucket": r.ID}
	case KindCollection:
		return map[string]string{"bucket": r.Bucket, "collection": r.ID}
	case KindGroup:
		return map[string]string{"bucket": r.Bucket, "group": r.ID}
	}
	return map[string]string{"bucket": r.Bucket, "collection": r.Collection, "record": r.ID}
}
