package docstore

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"

	"github.com/changegate/changegate/kinto"
	"github.com/changegate/changegate/kinto/query"
)

// permissionEntry is one line of GET /v1/permissions. keys keeps
// Kinto's member order (uri, resource_name, permissions, then the ids as
// its route matchdict gives them).
type permissionEntry struct {
	uri    string
	keys   []string
	values map[string]any
}

// MarshalJSON renders the entry with its members in order.
func (e permissionEntry) MarshalJSON() ([]byte, error) {
	out := []byte{'{'}
	for i, k := range e.keys {
		if i > 0 {
			out = append(out, ',')
		}
		b, err := json.Marshal(e.values[k])
		if err != nil {
			return nil, err
		}
		out = append(kinto.AppendJSONString(out, k), ':')
		out = append(out, b...)
	}
	return append(out, '}'), nil
}

// permissionOrder is the order permissions are listed in (Kinto lists a
// Python set, whose order is arbitrary; this is the one its answers
// usually show).
var permissionOrder = []string{"read", "write", "group:create", "collection:create", "record:create", "account:create", "bucket:create", "read:attributes"}

// permissionsList answers GET /v1/permissions (Kinto's permissions
// endpoint): every object whose permissions name one of the caller's
// principals explicitly, with the permissions held there and those they
// imply on the same object (write gives read), plus what the settings
// grant at the root. Objects reachable only through a parent are not
// listed, as in Kinto. Entries come by descending uri (Kinto's default
// sort for this endpoint); filters apply.
func (h *Handler) permissionsList(ctx context.Context, req *request) *response {
	if !h.cfg.PermissionsEndpoint {
		return errorResponse(errUnknownPath())
	}
	if !req.isRead() {
		return errorResponse(errMethodNotAllowed("GET, HEAD, OPTIONS"))
	}
	q, err := h.parseQuery(req.query)
	if err != nil {
		return errorResponse(kinto.AsError(err))
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
	slices.SortFunc(entries, func(a, b permissionEntry) int { return strings.Compare(b.uri, a.uri) })
	resp := marshalResponse(http.StatusOK, map[string]any{"data": filterEntries(entries, q)})
	// Entries have no timestamp of their own: Kinto stamps the list
	// with the time of the answer.
	resp.setTimestamp(h.store.nowMillis())
	resp.header.Set("Cache-Control", "no-cache, no-store")
	resp.expose = kinto.ExposePluralRead
	return resp
}

// collectPermissions walks every bucket and what it holds.
func (h *Handler) collectPermissions(o *op, id *identity) ([]permissionEntry, error) {
	var out []permissionEntry
	buckets, err := o.all(ref{Kind: KindBucket})
	if err != nil {
		return nil, err
	}
	for _, b := range buckets {
		out = appendEntry(out, id, ref{Kind: KindBucket, ID: b.ID}, b)
		for _, kind := range []string{KindCollection, KindGroup} {
			children, err := o.all(ref{Kind: kind, Bucket: b.ID})
			if err != nil {
				return nil, err
			}
			for _, c := range children {
				out = appendEntry(out, id, ref{Kind: kind, Bucket: b.ID, ID: c.ID}, c)
				if kind != KindCollection {
					continue
				}
				records, err := o.all(ref{Kind: KindRecord, Bucket: b.ID, Collection: c.ID})
				if err != nil {
					return nil, err
				}
				for _, rec := range records {
					out = appendEntry(out, id, ref{Kind: KindRecord, Bucket: b.ID, Collection: c.ID, ID: rec.ID}, rec)
				}
			}
		}
	}
	var root []string
	if h.cfg.InsecureAllowAll || id.holds(h.cfg.BucketCreatePrincipals) {
		root = append(root, "bucket:create")
	}
	if a := h.cfg.Accounts; a != nil {
		if out, err = appendAccountEntries(o, out, id); err != nil {
			return nil, err
		}
		if id.holds(a.CreatePrincipals) {
			root = append(root, "account:create")
		}
	}
	if len(root) > 0 {
		out = append(out, permissionEntry{uri: "/", keys: []string{"uri", "resource_name", "permissions"},
			values: map[string]any{"uri": "/", "resource_name": "root", "permissions": orderPermissions(root)}})
	}
	return out, nil
}

// appendAccountEntries adds the accounts whose permissions name the
// caller.
func appendAccountEntries(o *op, out []permissionEntry, id *identity) ([]permissionEntry, error) {
	var ids []string
	err := o.tx.Timestamps(KindAccount, func(parent string, _ int64) error {
		ids = append(ids, parent)
		return nil
	})
	for _, aid := range ids {
		r := ref{Kind: KindAccount, ID: aid}
		obj, err := o.get(r)
		if err != nil {
			return nil, err
		}
		if obj != nil {
			out = appendEntry(out, id, r, obj)
		}
	}
	return out, err
}

// appendEntry adds r's entry when obj's permissions name one of the
// caller's principals.
func appendEntry(out []permissionEntry, id *identity, r ref, obj *Object) []permissionEntry {
	var held []string
	for perm, principals := range obj.Permissions {
		if id.holds(principals) {
			held = append(held, impliedOnSelf(r.Kind, perm)...)
		}
	}
	if len(held) == 0 {
		return out
	}
	e := permissionEntry{uri: r.uri(), keys: []string{"uri", "resource_name", "permissions"},
		values: map[string]any{"uri": r.uri(), "resource_name": r.Kind, "permissions": orderPermissions(held)}}
	add := func(k, v string) { e.keys = append(e.keys, k); e.values[k] = v }
	switch r.Kind {
	case KindBucket, KindAccount:
		add("id", r.ID)
		add(r.Kind+"_id", r.ID)
	case KindRecord:
		add("bucket_id", r.Bucket)
		add("collection_id", r.Collection)
		add("id", r.ID)
		add("record_id", r.ID)
	default:
		add("bucket_id", r.Bucket)
		add("id", r.ID)
		add(r.Kind+"_id", r.ID)
	}
	return append(out, e)
}

// impliedOnSelf is perm and what it grants on the same object (Kinto's
// inheritance tree read downwards, kept to the object itself: bucket
// write gives bucket read, not group read).
func impliedOnSelf(kind, perm string) []string {
	out := []string{perm}
	for obtained, from := range grants[kind] {
		if slices.Contains(from[kind], perm) {
			out = append(out, obtained)
		}
	}
	return out
}

// orderPermissions de-duplicates perms in permissionOrder.
func orderPermissions(perms []string) []string {
	out := []string{}
	for _, p := range permissionOrder {
		if slices.Contains(perms, p) {
			out = append(out, p)
		}
	}
	for _, p := range perms {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	return out
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
