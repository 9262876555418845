package feeds

import (
	"encoding/json"

	"github.com/changegate/changegate/kinto"
)

// sendRows renders and sends the rows taken.
func (f *feed) sendRows() {
	feedRows.add(f.fr.feed, len(f.out))
	for _, row := range f.out {
		f.seq = append(f.seq[:0], "null"...)
		if iv := f.fr.seqInterval; iv == 0 || (f.fr.limit-f.sent)%iv == 0 {
			// seq_interval: only every Nth row counting down from the
			// limit carries its seq (fabric_view_changes handle_message).
			f.seq = f.src.appendSeq(f.seq[:0], row.cur)
		}
		seq := f.seq
		f.sent++
		f.row = appendFeedRow(f.row[:0], row, seq, f.fr.includeDocs)
		if f.fr.feed == feedEventSource {
			f.fw.event(f.row, seq)
		} else {
			f.fw.row(f.row)
		}
	}
	f.out = f.out[:0]
}

// appendFeedRow renders {"seq","id","changes":[{"rev"}],"deleted","doc"}
// in CouchDB's key order (fabric_view_changes changes_row/1); deleted
// only when true. There are no conflicts, so style=all_docs lists the
// same single revision.
func appendFeedRow(b []byte, row feedRow, seq []byte, includeDocs bool) []byte {
	b = append(b, `{"seq":`...)
	b = append(b, seq...)
	b = append(b, `,"id":`...)
	b = kinto.AppendJSONString(b, row.id)
	b = append(b, `,"changes":[{"rev":"`...)
	revAt := len(b)
	b = appendRev(b, row.id, row.revGen())
	rev := b[revAt:]
	b = append(b, `"}]`...)
	if row.deleted {
		b = append(b, `,"deleted":true`...)
	}
	if includeDocs {
		b = append(b, `,"doc":`...)
		b = appendDoc(b, row, string(rev))
	}
	return append(b, '}')
}

// appendDoc renders the object with _id and _rev first (and _deleted for
// a tombstone, whose body CouchDB does not keep either).
func appendDoc(b []byte, row feedRow, rev string) []byte {
	b = append(b, `{"_id":`...)
	b = kinto.AppendJSONString(b, row.id)
	b = append(b, `,"_rev":"`...)
	b = append(b, rev...)
	b = append(b, '"')
	if row.deleted {
		return append(b, `,"_deleted":true}`...)
	}
	rest := trimObjectStart(row.data)
	if len(rest) > 0 && rest[0] != '}' {
		b = append(b, ',')
	}
	return append(b, rest...)
}

// trimObjectStart returns a JSON object after its opening brace and the
// whitespace that follows.
func trimObjectStart(obj json.RawMessage) []byte {
	i := 0
	for i < len(obj) && obj[i] != '{' {
		i++
	}
	i++
	for i < len(obj) && (obj[i] == ' ' || obj[i] == '\n' || obj[i] == '\r' || obj[i] == '\t') {
		i++
	}
	if i > len(obj) {
		return []byte("}")
	}
	return obj[i:]
}
