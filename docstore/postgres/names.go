package postgres

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"strings"

	"github.com/changegate/changegate/docstore"
)

// randomName returns 8 random bytes in hex.
func randomName() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// randomRev returns the changegate_rev of a write.
func randomRev() int64 {
	var b [8]byte
	rand.Read(b[:])
	return int64(binary.LittleEndian.Uint64(b[:]))
}

// hasParam reports whether the DSN names a parameter, in URL or
// key=value form.
func hasParam(dsn, name string) bool { return strings.Contains(dsn, name+"=") }

// objectURI is the URI Kinto's permission backend keys an object by:
// "/buckets/b", "/buckets/b/collections/c", "/buckets/b/groups/g",
// "/buckets/b/collections/c/records/r", and parent + "/<kind>s/<id>" for
// other kinds, except the two whose routes Kinto's plugins name otherwise:
// an account (stored under the parent of its own id) is "/accounts/<id>",
// a history entry (under its bucket) "/buckets/b/history/<id>", the URI
// the history listener gives the entry's read permission.
func objectURI(parent, kind, id string) string {
	switch kind {
	case docstore.KindAccount:
		return "/accounts/" + id
	case docstore.KindHistory:
		return parent + "/history/" + id
	}
	return parent + "/" + kind + "s/" + id
}

// objectURISQL is objectURI in SQL, for the object row o.
const objectURISQL = `CASE o.resource_name
	WHEN 'account' THEN '/accounts/' || o.id
	WHEN 'history' THEN o.parent_id || '/history/' || o.id
	ELSE o.parent_id || '/' || o.resource_name || 's/' || o.id END`

// treeRange returns the bounds of the parent ids strictly below uri in
// byte order (the columns are COLLATE "C"): every string starting with
// uri + "/" sorts in [uri+"/", uri+"0"), '0' following '/'.
func treeRange(uri string) (lo, hi string) { return uri + "/", uri + "0" }
