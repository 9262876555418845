package docstore

import (
	"regexp"
	"strings"

	"github.com/changegate/changegate/kinto"
)

// idPattern is the id rule of every Kinto resource (kinto's Generator and
// RelaxedUUID regexp): buckets, collections, groups and records alike.
var idPattern = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_-]*$`)

// validID reports whether id is acceptable as an object id.
func validID(id string) bool { return idPattern.MatchString(id) }

// ref names a Kinto object (ID set) or list (ID empty).
type ref struct {
	Kind       string
	Bucket     string
	Collection string
	ID         string
}

// BucketURI is the storage URI of a bucket, as Kinto writes it.
func BucketURI(bid string) string { return "/buckets/" + bid }

// CollectionURI is the storage URI of a collection.
func CollectionURI(bid, cid string) string { return BucketURI(bid) + "/collections/" + cid }

// parent is the storage parent URI of the objects this ref lists or names.
func (r ref) parent() string {
	switch r.Kind {
	case KindBucket:
		return ""
	case KindAccount:
		// Kinto's accounts plugin files each account under its own id.
		return r.ID
	case KindRecord:
		return CollectionURI(r.Bucket, r.Collection)
	default:
		return BucketURI(r.Bucket)
	}
}

// uri is the storage URI of the object this ref names.
func (r ref) uri() string {
	switch r.Kind {
	case KindBucket:
		return BucketURI(r.ID)
	case KindCollection:
		return CollectionURI(r.Bucket, r.ID)
	case KindGroup:
		return BucketURI(r.Bucket) + "/groups/" + r.ID
	case KindAccount:
		return "/accounts/" + r.ID
	case KindHistory:
		return BucketURI(r.Bucket) + "/history/" + r.ID
	default:
		return CollectionURI(r.Bucket, r.Collection) + "/records/" + r.ID
	}
}

// plural reports whether the ref names a list endpoint.
func (r ref) plural() bool { return r.ID == "" }

// withID returns the object ref of id inside this list.
func (r ref) withID(id string) ref { r.ID = id; return r }

// event builds the change event of a write to this object.
func (r ref) event(ts int64, deleted bool) kinto.Event {
	ev := kinto.Event{Kind: r.Kind, Bucket: r.Bucket, Collection: r.Collection, ID: r.ID, Timestamp: ts, Deleted: deleted}
	switch r.Kind {
	case KindBucket:
		ev.Bucket = r.ID
	case KindCollection:
		ev.Collection = r.ID
	}
	return ev
}

// route is what a URL path under the API prefix names.
type route struct {
	name string // "root", "heartbeat", "lbheartbeat", "version", "flush", "batch", "resource"
	ref  ref
}

// parseRoute maps a path below the version prefix ("/buckets/b", "/") to a
// route. ok is false for paths that name nothing; badID is the first id
// segment that is not a valid id.
func parseRoute(p string) (rt route, ok bool) {
	switch p {
	case "/":
		return route{name: "root"}, true
	case "/__heartbeat__":
		return route{name: "heartbeat"}, true
	case "/__lbheartbeat__":
		return route{name: "lbheartbeat"}, true
	case "/__version__":
		return route{name: "version"}, true
	case "/__flush__":
		return route{name: "flush"}, true
	case "/batch":
		return route{name: "batch"}, true
	case "/permissions":
		return route{name: "permissions"}, true
	case "/accounts":
		return route{name: "accounts", ref: ref{Kind: KindAccount}}, true
	}
	if id, ok := strings.CutPrefix(p, "/accounts/"); ok && id != "" && !strings.Contains(id, "/") {
		return route{name: "accounts", ref: ref{Kind: KindAccount, ID: id}}, true
	}
	if !strings.HasPrefix(p, "/buckets") {
		return route{}, false
	}
	seg := strings.Split(p[1:], "/")
	for _, s := range seg {
		if s == "" {
			return route{}, false
		}
	}
	if rt, ok := historyRoute(seg); ok {
		return rt, true
	}
	if len(seg) == 7 && seg[2] == "collections" && seg[4] == "records" && seg[6] == "attachment" {
		return route{name: "attachment", ref: ref{Kind: KindRecord, Bucket: seg[1], Collection: seg[3], ID: seg[5]}}, true
	}
	r, ok := refFromSegments(seg)
	return route{name: "resource", ref: r}, ok
}

// refFromSegments reads buckets/{b}/collections/{c}/records/{r} (or a
// prefix of it, or buckets/{b}/groups/{g}).
func refFromSegments(seg []string) (ref, bool) {
	n := len(seg)
	switch {
	case n == 1 && seg[0] == "buckets":
		return ref{Kind: KindBucket}, true
	case n == 2:
		return ref{Kind: KindBucket, ID: seg[1]}, true
	case n == 3 && seg[2] == "collections":
		return ref{Kind: KindCollection, Bucket: seg[1]}, true
	case n == 3 && seg[2] == "groups":
		return ref{Kind: KindGroup, Bucket: seg[1]}, true
	case n == 4 && seg[2] == "collections":
		return ref{Kind: KindCollection, Bucket: seg[1], ID: seg[3]}, true
	case n == 4 && seg[2] == "groups":
		return ref{Kind: KindGroup, Bucket: seg[1], ID: seg[3]}, true
	case n == 5 && seg[2] == "collections" && seg[4] == "records":
		return ref{Kind: KindRecord, Bucket: seg[1], Collection: seg[3]}, true
	case n == 6 && seg[2] == "collections" && seg[4] == "records":
		return ref{Kind: KindRecord, Bucket: seg[1], Collection: seg[3], ID: seg[5]}, true
	}
	return ref{}, false
}

// historyRoute reads buckets/{b}/history and the snapshot path
// buckets/{b}/snapshot/collections/{c}@{timestamp} (the timestamp goes in
// the ref's ID).
func historyRoute(seg []string) (route, bool) {
	switch {
	case len(seg) == 3 && seg[2] == "history":
		return route{name: "history", ref: ref{Kind: KindHistory, Bucket: seg[1]}}, true
	case len(seg) == 5 && seg[2] == "snapshot" && seg[3] == "collections":
		cid, at, ok := strings.Cut(seg[4], "@")
		if !ok {
			return route{}, false
		}
		return route{name: "snapshot", ref: ref{Kind: KindRecord, Bucket: seg[1], Collection: cid, ID: at}}, true
	}
	return route{}, false
}
