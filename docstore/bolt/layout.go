package bolt

import (
	"encoding/binary"
	"fmt"

	"go.etcd.io/bbolt"
)

// The file holds five top-level buckets. A "set" is the objects of one
// (parent, kind); setPrefix(parent, kind) = parent + "\x00" + kind + "\x00".
//
//	objects     setPrefix + lm(8) + id  -> value (see codec.go)
//	ids         setPrefix + id          -> lm(8) + flags(1)
//	counts      parent + "\x00" + kind  -> live objects, uint64
//	timestamps  kind + "\x00" + parent  -> ts(8)
//	meta        "format"                -> formatVersion
//
// Objects are clustered by last_modified: a Scan is one backwards walk over
// adjacent keys that stops at its Since cutoff, so a _since query reads only
// the newer objects and a full listing reads pages sequentially. ids maps an
// id to its object key (one extra lookup for Get) and says whether it is a
// tombstone, so Get of a deleted id stops there. Parents and kinds never
// contain NUL, so "/buckets/b\x00" can never prefix "/buckets/bb\x00" and
// DeleteTree is two prefix deletions per bucket. Timestamps are keyed by
// kind first because Timestamps(kind) lists every parent of a kind (e.g.
// the record timestamps of all collections).
var (
	bucketObjects    = []byte("objects")
	bucketIDs        = []byte("ids")
	bucketCounts     = []byte("counts")
	bucketTimestamps = []byte("timestamps")
	bucketMeta       = []byte("meta")

	keyFormat = []byte("format")
)

// formatVersion is stored in meta so that a later layout can recognise (and
// migrate) files written by this one. Format 2 added each object's
// generation to its value (codec.go); a format 1 file is upgraded in place
// when opened, as its values still decode (as generation 1), and an older
// changegate then refuses it instead of misreading the new values.
const (
	formatVersion   = 2
	formatVersionV1 = 1
)

// signBit flips int64 timestamps into uint64s whose big-endian bytes sort
// like the signed values (negative timestamps sort first).
const signBit = 1 << 63

// initLayout creates the buckets of a new file and checks the format of an
// existing one.
func initLayout(btx *bbolt.Tx) error {
	for _, name := range [][]byte{bucketObjects, bucketIDs, bucketCounts, bucketTimestamps, bucketMeta} {
		if _, err := btx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("creating bucket %s: %w", name, err)
		}
	}
	meta := btx.Bucket(bucketMeta)
	switch v := meta.Get(keyFormat); {
	case v == nil, len(v) == 8 && binary.BigEndian.Uint64(v) == formatVersionV1:
		return meta.Put(keyFormat, binary.BigEndian.AppendUint64(nil, formatVersion))
	case len(v) != 8 || binary.BigEndian.Uint64(v) != formatVersion:
		return fmt.Errorf("unsupported format %x (want %d)", v, formatVersion)
	}
	return nil
}

// setPrefix returns parent + "\x00" + kind + "\x00".
func setPrefix(parent, kind string) []byte {
	b := make([]byte, 0, len(parent)+len(kind)+2)
	b = append(b, parent...)
	b = append(b, 0)
	b = append(b, kind...)
	return append(b, 0)
}

// idKey returns the ids key of id in the set of prefix.
func idKey(prefix []byte, id string) []byte {
	k := make([]byte, 0, len(prefix)+len(id))
	return append(append(k, prefix...), id...)
}

// objectKey returns the objects key of (lm, id) in the set of prefix.
func objectKey(prefix []byte, lm int64, id string) []byte {
	k := make([]byte, 0, len(prefix)+8+len(id))
	k = append(k, prefix...)
	k = appendInt64(k, lm)
	return append(k, id...)
}

// countKey returns the counts key of (parent, kind).
func countKey(parent, kind string) []byte {
	return []byte(parent + "\x00" + kind)
}

// timestampKey returns the timestamps key of (parent, kind).
func timestampKey(parent, kind string) []byte {
	return []byte(kind + "\x00" + parent)
}

// appendInt64 appends v as 8 bytes that sort like v.
func appendInt64(b []byte, v int64) []byte {
	return binary.BigEndian.AppendUint64(b, uint64(v)^signBit)
}

// int64At decodes the 8 bytes appendInt64 wrote at the start of b.
func int64At(b []byte) int64 {
	return int64(binary.BigEndian.Uint64(b) ^ signBit)
}

// prefixEnd returns the smallest key greater than every key starting with
// prefix, which ends in NUL for every prefix used here.
func prefixEnd(prefix []byte) []byte {
	end := append([]byte(nil), prefix...)
	end[len(end)-1]++
	return end
}
