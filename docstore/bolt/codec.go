package bolt

import (
	"encoding/binary"
	"errors"
	"maps"
	"math"
	"slices"

	"github.com/changegate/changegate/docstore"
)

// An objects value is
//
//	version(1) flags(1) uvarint(generation) uvarint(len(perms)) perms data
//
// where perms is uvarint(n) then n times (name, uvarint(m), m principals),
// each string being uvarint(len) + bytes, names sorted so equal objects
// encode identically. data is the client's JSON, stored as is and last so
// that it needs no length. The id and last_modified live in the key.
// Decoding reads a few varints and copies data once; all permission names
// and principals are cut from a single copied string. No JSON is parsed.
// Version 1 values (storage format 1) have no generation: they read as
// generation 1.
const (
	codecVersion   = 2
	codecVersionV1 = 1
	flagDeleted    = 1
)

var errCorrupt = errors.New("corrupt object encoding")

// encodeValue encodes obj's flags, permissions and data.
func encodeValue(obj *docstore.Object) []byte {
	perms := appendPermissions(nil, obj.Permissions)
	b := make([]byte, 0, 2+2*binary.MaxVarintLen64+len(perms)+len(obj.Data))
	b = append(b, codecVersion, flags(obj.Deleted))
	b = binary.AppendUvarint(b, uint64(obj.Generation))
	b = binary.AppendUvarint(b, uint64(len(perms)))
	b = append(b, perms...)
	return append(b, obj.Data...)
}

// flags returns the flags byte of an object.
func flags(deleted bool) byte {
	if deleted {
		return flagDeleted
	}
	return 0
}

// appendPermissions appends the encoding of p to b.
func appendPermissions(b []byte, p docstore.Permissions) []byte {
	if len(p) == 0 {
		return b
	}
	b = binary.AppendUvarint(b, uint64(len(p)))
	for _, name := range slices.Sorted(maps.Keys(p)) {
		b = appendString(b, name)
		b = binary.AppendUvarint(b, uint64(len(p[name])))
		for _, principal := range p[name] {
			b = appendString(b, principal)
		}
	}
	return b
}

// appendString appends s with its length.
func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// valueDeleted reports whether v encodes a tombstone, without decoding it.
func valueDeleted(v []byte) bool {
	return len(v) > 1 && v[1]&flagDeleted != 0
}

// decodeValue fills obj's Deleted, Generation, Permissions and Data from
// v. Everything is copied: v points into bbolt's memory map, valid only
// during the transaction.
func decodeValue(v []byte, obj *docstore.Object) error {
	gen, perms, data, err := splitValue(v)
	if err != nil {
		return err
	}
	obj.Deleted = v[1]&flagDeleted != 0
	obj.Generation = gen
	p, err := decodePermissions(perms)
	if err != nil {
		return err
	}
	obj.Permissions = p
	if len(data) > 0 {
		obj.Data = append([]byte(nil), data...)
	}
	return nil
}

// splitValue checks a value's header and returns its generation, its
// encoded permissions and its data, both still in v.
func splitValue(v []byte) (gen int64, perms, data []byte, err error) {
	if len(v) < 2 || (v[0] != codecVersion && v[0] != codecVersionV1) {
		return 0, nil, nil, errCorrupt
	}
	off := 2
	gen = 1
	if v[0] == codecVersion {
		g, w := binary.Uvarint(v[off:])
		if w <= 0 || g > math.MaxInt64 {
			return 0, nil, nil, errCorrupt
		}
		off, gen = off+w, int64(g)
	}
	n, w := binary.Uvarint(v[off:])
	if w <= 0 || n > uint64(len(v)-off-w) {
		return 0, nil, nil, errCorrupt
	}
	off += w
	return gen, v[off : off+int(n)], v[off+int(n):], nil
}

// decodePermissions decodes what appendPermissions wrote; names and
// principals share one copied string.
func decodePermissions(b []byte) (docstore.Permissions, error) {
	if len(b) == 0 {
		return nil, nil
	}
	d := decoder{b: b, s: string(b)}
	n := d.uvarint()
	if n > uint64(len(b)) {
		return nil, errCorrupt
	}
	p := make(docstore.Permissions, n)
	for range n {
		name := d.string()
		m := d.uvarint()
		if m > uint64(len(b)) {
			return nil, errCorrupt
		}
		var principals []string
		if m > 0 {
			principals = make([]string, m)
		}
		for i := range principals {
			principals[i] = d.string()
		}
		p[name] = principals
	}
	if d.err || d.off != len(b) {
		return nil, errCorrupt
	}
	return p, nil
}

// decoder reads varints and strings from b; s is a copy of b that the
// strings are cut from. A read past the end sets err and yields zeros.
type decoder struct {
	b   []byte
	s   string
	off int
	err bool
}

func (d *decoder) uvarint() uint64 {
	if d.err {
		return 0
	}
	v, w := binary.Uvarint(d.b[d.off:])
	if w <= 0 {
		d.err = true
		return 0
	}
	d.off += w
	return v
}

func (d *decoder) string() string {
	n := d.uvarint()
	if d.err || n > uint64(len(d.b)-d.off) {
		d.err = true
		return ""
	}
	s := d.s[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}
