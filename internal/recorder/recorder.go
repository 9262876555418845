// Package recorder holds changegate's one response recorder: the
// ResponseWriter that middleware (pretty, jsonp, conditional,
// cache_control) and the sidecar glue put in front of the next handler to
// look at a response before it leaves, and pass it, hold it or drop it.
package recorder

import (
	"bytes"
	"io"
	"net/http"
	"sync"
)

// Mode is what a Recorder does with the response it records.
type Mode int

const (
	// Pass writes the response through, unchanged and unbuffered.
	Pass Mode = iota
	// Hold keeps the status and body back until the owner writes them
	// (or the response turns out to be a stream, see Recorder).
	Hold
	// Drop discards the body: the owner answered in its stead.
	Drop
	// Keep is Hold through flushes: the owner must read the whole body
	// (a small document it patches or parses) even when the producer
	// flushes as it goes, as reverse_proxy does with an answer that has
	// no Content-Length. The limit still releases it.
	Keep
)

// Decide chooses a mode once the final status is known; the response
// headers are in the Recorder's Header map. canHold is false when the
// response was held and just turned out to be a stream (a flush) or too
// large: the answer must then be Pass or Drop.
type Decide func(status int, canHold bool) Mode

// Recorder is a ResponseWriter that lets middleware look at a response
// before it leaves: at the final WriteHeader it asks Decide whether to
// pass the response through, hold it (headers and body) for the owner to
// transform, or drop it.
//
// A held response is released, headers and all, the moment the inner
// handler flushes: flushing is how a stream (a long poll, a continuous
// feed, anything reverse_proxy forwards without a Content-Length) says
// its bytes must go now, so streams are never delayed beyond their first
// flush nor transformed. Server-sent events and RFC 10036 incremental
// responses should be passed at once by Decide (see IsStream). A held
// body larger than the limit is released too.
//
// Recorder implements FlushError, ReadFrom and Unwrap, so
// http.NewResponseController reaches the connection through it.
type Recorder struct {
	rw      http.ResponseWriter
	decide  Decide
	buf     *bytes.Buffer
	limit   int
	status  int
	mode    Mode
	decided bool
}

// New wraps w. limit bounds the held body in bytes.
func New(w http.ResponseWriter, limit int, decide Decide) *Recorder {
	return &Recorder{rw: w, decide: decide, limit: limit}
}

// Header returns the response headers (those of the wrapped writer: they
// are shared, not buffered).
func (r *Recorder) Header() http.Header { return r.rw.Header() }

// WriteHeader records the status and asks Decide what to do. 1xx
// responses are not final and pass through at once.
func (r *Recorder) WriteHeader(status int) {
	if r.decided {
		return
	}
	if status >= 100 && status < 200 {
		r.rw.WriteHeader(status)
		return
	}
	r.decided, r.status = true, status
	r.mode = r.decide(status, true)
	if r.holds() && r.buf == nil {
		r.buf = GetBuffer()
	}
	if r.mode == Pass {
		r.rw.WriteHeader(status)
	}
}

// Write passes, holds or drops p according to the mode.
func (r *Recorder) Write(p []byte) (int, error) {
	if !r.decided {
		r.WriteHeader(http.StatusOK)
	}
	if r.holds() {
		if r.buf.Len()+len(p) <= r.limit {
			return r.buf.Write(p)
		}
		if err := r.release(); err != nil {
			return 0, err
		}
	}
	if r.mode == Drop {
		return len(p), nil
	}
	return r.rw.Write(p)
}

// ReadFrom copies src, keeping the wrapped writer's ReadFrom (sendfile)
// when the response passes through.
func (r *Recorder) ReadFrom(src io.Reader) (int64, error) {
	if !r.decided {
		r.WriteHeader(http.StatusOK)
	}
	if rf, ok := r.rw.(io.ReaderFrom); ok && r.mode == Pass {
		return rf.ReadFrom(src)
	}
	return io.Copy(writerOnly{r}, src)
}

// FlushError releases a held response, then flushes. A dropped or kept
// response has nothing to flush.
func (r *Recorder) FlushError() error {
	if !r.decided {
		r.WriteHeader(http.StatusOK)
	}
	if r.mode == Keep {
		return nil
	}
	if r.mode == Hold {
		if err := r.release(); err != nil {
			return err
		}
	}
	if r.mode == Drop {
		return nil
	}
	return http.NewResponseController(r.rw).Flush()
}

// Flush is FlushError for callers that assert http.Flusher.
func (r *Recorder) Flush() { _ = r.FlushError() }

// Unwrap returns the wrapped writer, for http.ResponseController.
func (r *Recorder) Unwrap() http.ResponseWriter { return r.rw }

// release turns a held response into a passed (or dropped) one: Decide
// is asked again, then the held status and bytes go out.
func (r *Recorder) release() error {
	r.mode = r.decide(r.status, false)
	held := r.buf
	r.buf = nil
	defer PutBuffer(held)
	if r.mode != Pass {
		return nil
	}
	r.rw.WriteHeader(r.status)
	if held.Len() == 0 {
		return nil
	}
	_, err := r.rw.Write(held.Bytes())
	return err
}

// Held reports whether the response is still held: the inner handler
// has returned without flushing, and the owner must now write it.
func (r *Recorder) Held() bool { return r.decided && r.holds() }

// holds reports whether the body is being held back.
func (r *Recorder) holds() bool { return r.mode == Hold || r.mode == Keep }

// Status returns the recorded status (0 when nothing was written).
func (r *Recorder) Status() int { return r.status }

// Body returns the held body; valid until Finish.
func (r *Recorder) Body() []byte {
	if r.buf == nil {
		return nil
	}
	return r.buf.Bytes()
}

// Finish ends a held response: the owner writes status and body itself
// (after changing headers as it likes), and the held buffer is recycled.
func (r *Recorder) Finish(status int, body []byte) error {
	r.mode = Drop
	r.rw.WriteHeader(status)
	var err error
	if len(body) > 0 {
		_, err = r.rw.Write(body)
	}
	PutBuffer(r.buf)
	r.buf = nil
	return err
}

// Discard ends a held response without writing anything (the owner
// answers another way, or returns an error for Caddy to render).
func (r *Recorder) Discard() {
	r.mode = Drop
	PutBuffer(r.buf)
	r.buf = nil
}

// writerOnly hides ReadFrom, so io.Copy does not call it back.
type writerOnly struct{ io.Writer }

// maxPooled bounds the buffers kept for reuse: one huge response must not
// pin its buffer in memory forever.
const maxPooled = 256 << 10

var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// GetBuffer returns an empty buffer from the pool the recorders share, for
// the owner's transformed body too.
func GetBuffer() *bytes.Buffer {
	b := bufPool.Get().(*bytes.Buffer)
	b.Reset()
	return b
}

// PutBuffer gives b back to the pool (nil is ignored).
func PutBuffer(b *bytes.Buffer) {
	if b != nil && b.Cap() <= maxPooled {
		bufPool.Put(b)
	}
}
