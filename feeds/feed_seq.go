package feeds

import (
	"crypto/md5"
	"encoding/hex"
	"regexp"
	"strconv"
)

// Sequences. A collection feed's seq is the JSON string of the change's
// last_modified ("1700000000123"): unique and strictly increasing within
// a collection, so resuming after it misses and repeats nothing. A monitor
// feed's seq is "<version>-<epoch>.<timestamp>": the registry version at
// which the collection reached that records timestamp (every change the
// monitor can see gets the next version, so two collections changed in
// the same millisecond, or a collection whose clock lags another's, are
// still ordered), the epoch of this registry (versions restart with the
// process) and the timestamp, which a seq of another epoch falls back to.
// See docs/feeds.md.

// feedCursor is a position in a feed.
type feedCursor struct {
	// pos is the last_modified (collection) or registry version
	// (monitor) of the last change passed.
	pos int64
	// ts is, on the monitor, the timestamp at pos.
	ts int64
	// byTime marks a monitor position known only by timestamp (a seq of
	// another epoch, or a plain integer): the entries newer than ts, or
	// at ts too when inclusive, follow it.
	byTime, inclusive bool
}

// seqPattern is CouchDB's unpack_seq_regex_match: optional quotes, an
// optional "<N>-" prefix, an opaque rest.
var seqPattern = regexp.MustCompile(`^"?([0-9]+)(?:-([^"]*))?"?$`)

// parseSeq splits a since value into its number and opaque part; ok is
// false for anything we could not have issued.
func parseSeq(s string) (n int64, opaque string, ok bool) {
	m := seqPattern.FindStringSubmatch(s)
	if m == nil {
		return 0, "", false
	}
	n, err := strconv.ParseInt(m[1], 10, 64)
	return n, m[2], err == nil
}

// appendQuoted appends a seq made of ASCII digits and dots as a JSON string.
func appendQuoted(b []byte, parts ...string) []byte {
	b = append(b, '"')
	for _, p := range parts {
		b = append(b, p...)
	}
	return append(b, '"')
}

// appendRev appends the CouchDB revision of an object version:
// "<gen>-<md5(id@gen) hex>". gen is the record's generation (every write
// of it counts one: docstore.Object.Generation), or, where the source
// keeps no count (a sidecar's plain Kinto, the monitor), its
// last_modified. The hash depends only on (id, gen), so the revisions of
// a record's earlier versions can be computed again without storing them
// (appendRevisions): a replica holding "2-h(2)" sees "3-h(3)" with the
// history [h(3), h(2), h(1)] as its descendant, not a conflict. The id
// makes two records' revisions distinct.
func appendRev(b []byte, id string, gen int64) []byte {
	b = strconv.AppendInt(b, gen, 10)
	b = append(b, '-')
	return appendRevHash(b, id, gen)
}

// appendRevHash appends the hash part of the revision of (id, gen).
func appendRevHash(b []byte, id string, gen int64) []byte {
	var buf [128]byte
	in := append(buf[:0], id...)
	in = append(in, '@')
	in = strconv.AppendInt(in, gen, 10)
	sum := md5.Sum(in)
	return hex.AppendEncode(b, sum[:])
}

// revOf is appendRev as a string.
func revOf(id string, gen int64) string { return string(appendRev(nil, id, gen)) }
