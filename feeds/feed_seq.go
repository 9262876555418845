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
// "<lm>-<md5(id@lm) hex>". The generation is the last_modified, so it
// grows with every write (a replicating PouchDB lets the highest
// generation win), and the hash makes two objects' revisions distinct;
// both are stable between reads.
func appendRev(b []byte, id string, lm int64) []byte {
	start := len(b)
	b = strconv.AppendInt(b, lm, 10)
	n := len(b)
	b = append(b, id...)
	b = append(b, '@')
	b = append(b, b[start:n]...)
	sum := md5.Sum(b[n:])
	b = append(b[:n], '-')
	return hex.AppendEncode(b, sum[:])
}

// revOf is appendRev as a string.
func revOf(id string, lm int64) string { return string(appendRev(nil, id, lm)) }
