package upstream

import (
	"io"
	"net/http"
	"strconv"
)

// tap passes a write's answer through untouched while keeping a copy of
// its first max bytes. When the answer has a Content-Length, it is
// observed before its last bytes go out, so that a client that got the
// answer to its write finds the change in the monitor and feeds (read
// your writes); otherwise when the handler returns (done).
//
// It is not a recorder.Recorder: that one passes, holds or drops a
// response, while the tap must copy a passing response and act between
// two of its writes.
type tap struct {
	http.ResponseWriter
	status    int
	length    int64
	body      []byte
	max       int64
	written   int64
	truncated bool
	observe   func(*tap)
	observed  bool
}

func newTap(w http.ResponseWriter, max int64, observe func(*tap)) *tap {
	return &tap{ResponseWriter: w, max: max, length: -1, observe: observe}
}

// WriteHeader notes the status and the announced length.
func (w *tap) WriteHeader(status int) {
	if w.status == 0 && status >= 200 {
		w.status = status
		if n, err := strconv.ParseInt(w.Header().Get("Content-Length"), 10, 64); err == nil {
			w.length = n
		}
	}
	w.ResponseWriter.WriteHeader(status)
}

// Write copies what fits, observes the answer if this is its end, then
// writes.
func (w *tap) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if room := w.max - int64(len(w.body)); room >= int64(len(p)) {
		w.body = append(w.body, p...)
	} else {
		w.truncated = true
	}
	w.written += int64(len(p))
	if w.length >= 0 && w.written >= w.length {
		w.done()
	}
	return w.ResponseWriter.Write(p)
}

// done observes the answer once.
func (w *tap) done() {
	if !w.observed {
		w.observed = true
		w.observe(w)
	}
}

// complete reports whether the copy is the whole, uncompressed answer.
func (w *tap) complete() bool {
	return !w.truncated && identityEncoded(w.Header())
}

// ReadFrom copies through Write, so that nothing bypasses the copy.
func (w *tap) ReadFrom(r io.Reader) (int64, error) {
	return io.Copy(struct{ io.Writer }{w}, r)
}

// FlushError flushes the client's writer.
func (w *tap) FlushError() error {
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Unwrap returns the client's writer, for http.ResponseController.
func (w *tap) Unwrap() http.ResponseWriter { return w.ResponseWriter }
