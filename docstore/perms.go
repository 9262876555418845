package docstore

import (
	"net/http"
	"slices"
	"strings"

	"github.com/changegate/changegate/kinto"
)

// Permission names.
const (
	permRead  = "read"
	permWrite = "write"
)

// grants says which permissions on which objects grant a permission: for
// a kind of object and a permission, the kinds of the object itself or its
// ancestors with the permissions that imply it (Kinto's
// PERMISSIONS_INHERITANCE_TREE). "read:attributes" is what reading a
// single bucket or collection object takes: being able to create inside
// it is enough.
var grants = map[string]map[string]map[string][]string{
	KindBucket: {
		"write":             {KindBucket: {"write"}},
		"read":              {KindBucket: {"write", "read"}},
		"read:attributes":   {KindBucket: {"write", "read", "collection:create", "group:create"}},
		"group:create":      {KindBucket: {"write", "group:create"}},
		"collection:create": {KindBucket: {"write", "collection:create"}},
	},
	KindGroup: {
		"write": {KindBucket: {"write"}, KindGroup: {"write"}},
		"read":  {KindBucket: {"write", "read"}, KindGroup: {"write", "read"}},
	},
	KindCollection: {
		"write":           {KindBucket: {"write"}, KindCollection: {"write"}},
		"read":            {KindBucket: {"write", "read"}, KindCollection: {"write", "read"}},
		"read:attributes": {KindBucket: {"write", "read"}, KindCollection: {"write", "read", "record:create"}},
		"record:create":   {KindBucket: {"write"}, KindCollection: {"write", "record:create"}},
	},
	KindRecord: {
		"write": {KindBucket: {"write"}, KindCollection: {"write"}, KindRecord: {"write"}},
		"read":  {KindBucket: {"write", "read"}, KindCollection: {"write", "read"}, KindRecord: {"write", "read"}},
	},
	KindAccount: {
		"write": {KindAccount: {"write"}},
		"read":  {KindAccount: {"write", "read"}},
	},
}

// knownPermissions are the permissions each kind of object accepts in
// its permissions mapping.
var knownPermissions = map[string][]string{
	KindBucket:     {"read", "write", "collection:create", "group:create"},
	KindCollection: {"read", "write", "record:create"},
	KindGroup:      {"read", "write"},
	KindRecord:     {"read", "write"},
	KindAccount:    {"read", "write"},
}

// parentKind is the kind whose object a list belongs to: records belong
// to a collection, collections and groups to a bucket, buckets to the
// root ("").
func parentKind(kind string) string {
	switch kind {
	case KindRecord:
		return KindCollection
	case KindCollection, KindGroup:
		return KindBucket
	}
	return ""
}

// lineage returns the ref of each object that can grant permissions on
// r's object: r itself and its ancestors, by kind.
func lineage(r ref) map[string]ref {
	out := map[string]ref{}
	switch r.Kind {
	case KindBucket, KindAccount:
		out[r.Kind] = r
	case KindRecord:
		out[KindRecord] = r
		out[KindCollection] = ref{Kind: KindCollection, Bucket: r.Bucket, ID: r.Collection}
		out[KindBucket] = ref{Kind: KindBucket, ID: r.Bucket}
	default:
		out[r.Kind] = r
		out[KindBucket] = ref{Kind: KindBucket, ID: r.Bucket}
	}
	return out
}

// owner returns the ref of the object a list belongs to (its collection
// or bucket); ok is false for the bucket list, which belongs to the root.
func owner(list ref) (ref, bool) {
	switch list.Kind {
	case KindRecord:
		return ref{Kind: KindCollection, Bucket: list.Bucket, ID: list.Collection}, true
	case KindCollection, KindGroup:
		return ref{Kind: KindBucket, ID: list.Bucket}, true
	}
	return ref{}, false
}

// permitted reports whether id holds perm on the object r names, directly
// or through its ancestors. Objects that do not exist grant nothing.
func (o *op) permitted(id *identity, r ref, perm string) (bool, error) {
	tree := grants[r.Kind]
	granters, ok := tree[perm+":attributes"]
	if !ok {
		granters = tree[perm]
	}
	return o.granted(id, lineage(r), granters)
}

// granted reports whether one of the objects in refs grants id one of the
// permissions granters lists for its kind.
func (o *op) granted(id *identity, refs map[string]ref, granters map[string][]string) (bool, error) {
	for kind, ref := range refs {
		perms := granters[kind]
		if len(perms) == 0 {
			continue
		}
		obj, err := o.get(ref)
		if err != nil {
			return false, err
		}
		if obj != nil && holdsAny(id, obj.Permissions, perms) {
			return true, nil
		}
	}
	return false, nil
}

// permittedOnList reports whether id holds perm ("read", "write" or
// "<kind>:create") on a whole list, which is decided by the object the
// list belongs to; creating buckets is decided by the settings.
func (h *Handler) permittedOnList(o *op, id *identity, list ref, perm string) (bool, error) {
	own, ok := owner(list)
	if !ok {
		return perm == KindBucket+":create" && id.holds(h.cfg.BucketCreatePrincipals), nil
	}
	return o.granted(id, lineage(own), grants[own.Kind][perm])
}

// sharedWith reports whether an object's own permissions give id perm on
// it (what a list shows to a user who cannot read the whole list).
func sharedWith(id *identity, kind string, obj *Object, perm string) bool {
	tree := grants[kind]
	granters, ok := tree[perm+":attributes"]
	if !ok || perm != permRead {
		granters = tree[perm]
	}
	return holdsAny(id, obj.Permissions, granters[kind])
}

// holdsAny reports whether id holds one of perms in the mapping.
func holdsAny(id *identity, p Permissions, perms []string) bool {
	for _, perm := range perms {
		if id.holds(p[perm]) {
			return true
		}
	}
	return false
}

// checkKnownPermissions refuses permission names the kind does not have.
func checkKnownPermissions(kind string, p Permissions) error {
	for name := range p {
		if !slices.Contains(knownPermissions[kind], name) {
			return kinto.Invalid(kinto.ValidationDetail{Location: "body", Name: "permissions",
				Description: `"` + name + `" is not one of ` + strings.Join(knownPermissions[kind], ", ")})
		}
	}
	return nil
}

// required is the permission a request needs, and on what.
type required struct {
	perm string
	// onList means perm applies to the list r (create, list reads and
	// deletes); otherwise to the object r names.
	onList bool
	r      ref
}

// requirement decides what a request needs, as Kinto's RouteFactory
// does: reading needs read, changing needs write, creating (PUT of a new
// id, or with If-None-Match: *, and POST) needs <kind>:create on the list,
// and a POST of an existing id needs read on it.
func requirement(req *request, r ref, existing *Object) required {
	list := r.withID("")
	switch {
	case r.plural() && req.method == http.MethodPost && existing != nil:
		return required{perm: permRead, r: r.withID(existing.ID)}
	case r.plural() && req.method == http.MethodPost:
		return required{perm: r.Kind + ":create", onList: true, r: list}
	case r.plural() && req.isRead():
		return required{perm: permRead, onList: true, r: list}
	case r.plural():
		return required{perm: permWrite, onList: true, r: list}
	case req.isRead():
		return required{perm: permRead, r: r}
	case req.method == http.MethodPut && (existing == nil || req.header.Get("If-None-Match") == "*"):
		return required{perm: r.Kind + ":create", onList: true, r: list}
	}
	return required{perm: permWrite, r: r}
}

// access is the outcome of authorization: allowed to act on everything
// in scope, or only on the objects shared with the user (lists).
type access struct {
	all bool
	// shared is "read" or "write" when a list shows only the objects
	// granting it to the caller.
	shared string
	// insecure is set when permissions are not checked at all.
	insecure bool
}

// authorize checks a request against the permissions, Kinto's way. For
// list reads and deletes the user may be allowed only the objects shared
// with them. Writing an object that does not exist needs read on its list,
// so that only users who may know whether it exists learn it does not.
func (h *Handler) authorize(o *op, id *identity, req *request, r ref, existing *Object) (access, error) {
	if h.cfg.InsecureAllowAll {
		return access{all: true, insecure: true}, nil
	}
	need := requirement(req, r, existing)
	var ok bool
	var err error
	switch {
	case need.onList:
		ok, err = h.permittedOnList(o, id, need.r, need.perm)
	case need.perm == permWrite && existing == nil:
		ok, err = h.permittedOnList(o, id, r.withID(""), permRead)
	default:
		ok, err = o.permitted(id, need.r, need.perm)
	}
	if err != nil || ok {
		return access{all: ok}, err
	}
	if need.onList && (need.perm == permRead || need.perm == permWrite) {
		return h.sharedAccess(o, id, need)
	}
	return access{}, h.errUnauthorized(id)
}

// sharedAccess lets a user list (or delete) the objects shared with them;
// with none, a user who may create in the list still gets an empty one.
func (h *Handler) sharedAccess(o *op, id *identity, need required) (access, error) {
	shared := false
	err := o.tx.Scan(need.r.parent(), need.r.Kind, ScanOptions{}, func(obj *Object) (bool, error) {
		shared = sharedWith(id, need.r.Kind, obj, need.perm)
		return !shared, nil
	})
	if err != nil {
		return access{}, err
	}
	if shared {
		return access{shared: need.perm}, nil
	}
	canCreate, err := h.permittedOnList(o, id, need.r, need.r.Kind+":create")
	if err != nil {
		return access{}, err
	}
	if canCreate {
		return access{shared: need.perm}, nil
	}
	return access{}, h.errUnauthorized(id)
}
