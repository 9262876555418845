package feeds

import (
	"errors"
	"net/http"
	"strconv"
)

// normalFlushBytes is how much of a normal feed is buffered per write.
const normalFlushBytes = 32 << 10

// feedWriter writes a feed in CouchDB's exact wire format (§1.9 of the
// reference, couch_changes / chttpd_db changes_callback):
//
//	normal, longpoll: {"results":[LF row (,CRLF row)* LF ],LF "last_seq":S,"pending":N} LF LF
//	continuous:       (row LF | LF)* {"last_seq":S,"pending":N} LF LF
//	eventsource:      [: LF LF] (data: row LF id: S LF LF | event: heartbeat LF data: LF LF)*
//
// Live feeds go out at once: headers when the feed starts, then a flush
// after every row and heartbeat. The flush goes through any wrapping
// writer that implements it (Caddy's encode flushes its compressor too);
// the Incremental header (draft-ietf-httpbis-incremental) also tells
// encode not to hold the headers back (Caddy 2.11).
type feedWriter struct {
	w    http.ResponseWriter
	rc   *http.ResponseController
	feed string
	head bool
	buf  []byte
	rows int
	err  error
}

func newFeedWriter(w http.ResponseWriter, r *http.Request, feed string) *feedWriter {
	return &feedWriter{w: w, rc: http.NewResponseController(w), feed: feed, head: r.Method == http.MethodHead}
}

// start sends the headers (at once for live feeds) and the opening.
func (fw *feedWriter) start() {
	hd := fw.w.Header()
	if fw.feed == feedEventSource {
		hd.Set("Content-Type", "text/event-stream")
		hd.Set("Cache-Control", "no-cache")
	} else {
		hd.Set("Content-Type", "application/json")
		hd.Set("Cache-Control", "must-revalidate")
	}
	if fw.feed != feedNormal {
		hd.Set("X-Accel-Buffering", "no")
		hd.Set("Incremental", "?1")
	}
	fw.w.WriteHeader(http.StatusOK)
	if fw.feed == feedNormal || fw.feed == feedLongpoll {
		fw.buf = append(fw.buf, "{\"results\":[\n"...)
	}
	if fw.feed != feedNormal {
		fw.flush()
	}
}

// row writes one change.
func (fw *feedWriter) row(b []byte) {
	switch fw.feed {
	case feedNormal, feedLongpoll:
		if fw.rows > 0 {
			fw.buf = append(fw.buf, ",\r\n"...)
		}
		fw.buf = append(fw.buf, b...)
	case feedContinuous:
		fw.buf = append(fw.buf, b...)
		fw.buf = append(fw.buf, '\n')
	}
	fw.rows++
	if fw.feed == feedNormal || fw.feed == feedLongpoll {
		// A longpoll that has a row ends with this round: its rows go
		// out with the end, in as few writes as a normal feed's.
		if len(fw.buf) >= normalFlushBytes {
			fw.write()
		}
		return
	}
	fw.flush()
}

// event writes one eventsource change: its data and id.
func (fw *feedWriter) event(row, seq []byte) {
	fw.buf = append(fw.buf, "data: "...)
	fw.buf = append(fw.buf, row...)
	fw.buf = append(fw.buf, "\nid: "...)
	fw.buf = append(fw.buf, seq...)
	fw.buf = append(fw.buf, "\n\n"...)
	fw.rows++
	fw.flush()
}

// idle marks the first wait of a live feed that sent nothing yet with a
// body byte, so that every client and proxy sees the stream start
// (CouchDB sends "\n" then, apache/couchdb#2240), and a compressing
// writer flushes a real block: continuous gets an empty line, eventsource
// a comment, which EventSource ignores (HTML Living Standard §9.2.6).
// Longpoll's opening is already out.
func (fw *feedWriter) idle() {
	switch fw.feed {
	case feedContinuous:
		fw.buf = append(fw.buf, '\n')
	case feedEventSource:
		fw.buf = append(fw.buf, ":\n\n"...)
	default:
		return
	}
	fw.flush()
}

// heartbeat keeps an idle live feed's connection busy: an empty line, or
// a heartbeat event that EventSource listeners can subscribe to.
func (fw *feedWriter) heartbeat() {
	if fw.feed == feedEventSource {
		fw.buf = append(fw.buf, "event: heartbeat\ndata: \n\n"...)
	} else {
		fw.buf = append(fw.buf, '\n')
	}
	fw.flush()
}

// end writes the closing with last_seq and pending (eventsource just
// ends). The handler returns right after, and the server sends what is
// buffered with the end of the body: one write, not two.
func (fw *feedWriter) end(lastSeq []byte, pending int) {
	switch fw.feed {
	case feedNormal, feedLongpoll:
		fw.buf = append(fw.buf, "\n],\n\"last_seq\":"...)
	case feedContinuous:
		fw.buf = append(fw.buf, "{\"last_seq\":"...)
	default:
		return
	}
	fw.buf = append(fw.buf, lastSeq...)
	fw.buf = append(fw.buf, ",\"pending\":"...)
	fw.buf = strconv.AppendInt(fw.buf, int64(pending), 10)
	fw.buf = append(fw.buf, "}\n\n"...)
	fw.write()
}

// write sends the buffer.
func (fw *feedWriter) write() {
	if fw.err == nil && len(fw.buf) > 0 && !fw.head {
		_, fw.err = fw.w.Write(fw.buf)
		fw.countSent()
	}
	fw.buf = fw.buf[:0]
}

// flush sends the buffer and pushes it to the client.
func (fw *feedWriter) flush() {
	fw.write()
	if fw.err != nil {
		return
	}
	// A writer that cannot flush (a test recorder, a wrapper without
	// Unwrap) still gets every byte, only later.
	if err := fw.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		fw.err = err
	}
}
