package docstore

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"

	"github.com/changegate/changegate/docstore/query"
)

// permissionEntry is one line of GET /v1/permissions.
type permissionEntry map[string]any

// permissionsList answers GET /v1/permissions (Kinto's permissions
// endpoint): every object the caller holds a permission on, with the
// permissions it holds there, inherited ones included. Filters apply;
// sorting and pagination do not.
func (h *Handler) permissionsList(ctx context.Context, req *request) *response {
	if !h.cfg.PermissionsEndpoint {
		return errorResponse(errUnknownPath())
	}
	if !req.isRead() {
		return errorResponse(errMethodNotAllowed("GET, HEAD, OPTIONS"))
	}
	q, err := h.parseQuery(req.query)
	if err != nil {
		return errorResponse(AsError(err))
	}
	var entries []permissionEntry
	err = h.store.read(ctx, func(o *op) error {
		id, err := o.identify(req.userID)
		if err != nil {
			return err
		}
		entries, err = h.collectPermissions(o, id)
		return err
	})
	if err != nil {
		return h.internalError(req, err)
	}
	return marshalResponse(http.StatusOK, map[string]any{"data": filterEntries(entries, q)})
}

// collectPermissions walks every bucket and what it holds.
func (h *Handler) collectPermissions(o *op, id *identity) ([]permissionEntry, error) {
	var out []permissionEntry
	buckets, err := o.all(ref{Kind: KindBucket})
	if err != nil {
		return nil, err
	}
	for _, b := range buckets {
		bucket := ref{Kind: KindBucket, ID: b.ID}
		for _, kind := range []string{KindCollection, KindGroup} {
			children, err := o.all(ref{Kind: kind, Bucket: b.ID})
			if err != nil {
				return nil, err
			}
			for _, c := range children {
				child := ref{Kind: kind, Bucket: b.ID, ID: c.ID}
				if kind == KindCollection {
					records, err := o.permissionsOfRecords(id, child)
					if err != nil {
						return nil, err
					}
					out = append(out, records...)
				}
				if out, err = o.appendEntry(out, id, child); err != nil {
					return nil, err
				}
			}
		}
		if out, err = o.appendEntry(out, id, bucket); err != nil {
			return nil, err
		}
	}
	if h.cfg.InsecureAllowAll || id.holds(h.cfg.BucketCreatePrincipals) {
		out = append(out, permissionEntry{"uri": "/", "resource_name": "root", "permissions": []string{"bucket:create"}})
	}
	return out, nil
}

// permissionsOfRecords lists the caller's permissions on a collection's
// records.
func (o *op) permissionsOfRecords(id *identity, coll ref) ([]permissionEntry, error) {
	records, err := o.all(ref{Kind: KindRecord, Bucket: coll.Bucket, Collection: coll.ID})
	if err != nil {
		return nil, err
	}
	var out []permissionEntry
	for _, rec := range records {
		if out, err = o.appendEntry(out, id, ref{Kind: KindRecord, Bucket: coll.Bucket, Collection: coll.ID, ID: rec.ID}); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// appendEntry adds r's entry when the caller holds any permission on it.
func (o *op) appendEntry(out []permissionEntry, id *identity, r ref) ([]permissionEntry, error) {
	var held []string
	for _, perm := range slices.Sorted(maps.Keys(grants[r.Kind])) {
		ok, err := o.permitted(id, r, perm)
		if err != nil {
			return nil, err
		}
		if ok {
			held = append(held, perm)
		}
	}
	if len(held) == 0 {
		return out, nil
	}
	e := permissionEntry{"uri": r.uri(), "resource_name": r.Kind, "permissions": held, "id": r.ID}
	switch r.Kind {
	case KindBucket:
		e["bucket_id"] = r.ID
	case KindRecord:
		e["bucket_id"], e["collection_id"], e["record_id"] = r.Bucket, r.Collection, r.ID
	default:
		e["bucket_id"], e[r.Kind+"_id"] = r.Bucket, r.ID
	}
	return append(out, e), nil
}

// all returns every live object of a list.
func (o *op) all(list ref) ([]*Object, error) {
	var out []*Object
	err := o.tx.Scan(list.parent(), list.Kind, ScanOptions{}, func(obj *Object) (bool, error) {
		out = append(out, obj)
		return true, nil
	})
	return out, err
}

// filterEntries applies the query's filters to the entries.
func filterEntries(entries []permissionEntry, q *query.Query) []permissionEntry {
	out := []permissionEntry{}
	for _, e := range entries {
		b, _ := json.Marshal(e)
		decoded, err := query.Decode(b)
		if err == nil && q.Match(decoded) {
			out = append(out, e)
		}
	}
	return out
}
