package render

import (
	"net/http"
	"strconv"

	"github.com/tidwall/gjson"

	"github.com/changegate/changegate/internal/middleware"
	"github.com/changegate/changegate/internal/recorder"
)

// DefaultMaxBuffer bounds the bodies our middlewares hold to transform or
// hash; larger ones pass through untouched.
const DefaultMaxBuffer = 8 << 20

// Pretty indents JSON responses with 4 spaces when the request has the
// ?pretty query parameter (any value), as Eve's ?pretty does. Invalid
// JSON, content-coded bodies and streams pass through unchanged. The
// ETag is kept: it names the underlying document, so that a tag read
// from ?pretty still works in If-Match.
type Pretty struct {
	// Param is the query parameter. Default: "pretty".
	Param string
	// MaxBuffer bounds the body held for indenting, in bytes. Default:
	// DefaultMaxBuffer.
	MaxBuffer int
	// MaxRatio bounds the indented body to this many times the size of
	// the original. Default: DefaultMaxRatio.
	MaxRatio int
	// MaxOutput bounds the indented body, in bytes, whatever the ratio.
	// Default: DefaultMaxOutput.
	MaxOutput int
}

// Indentation costs four bytes per level per line: a small document of
// deeply nested arrays (18 KB of 9,000 levels) indents to hundreds of
// megabytes. Real documents grow two to three times; beyond these bounds
// the body goes out compact, as it came.
const (
	DefaultMaxRatio  = 8
	DefaultMaxOutput = 64 << 20
)

// outputLimit is the largest indented body allowed for an input of n
// bytes.
func (p *Pretty) outputLimit(n int) int {
	ratio, most := p.MaxRatio, p.MaxOutput
	if ratio <= 0 {
		ratio = DefaultMaxRatio
	}
	if most <= 0 {
		most = DefaultMaxOutput
	}
	return min(ratio*n, most)
}

// Serve runs the middleware around next.
func (p *Pretty) Serve(w http.ResponseWriter, r *http.Request, next middleware.Next) error {
	param, _, ok := readParam(r, p.Param, "pretty")
	if !ok {
		return next(w, r)
	}
	r = withoutParam(r, param)
	if r.Method == http.MethodHead {
		// No body to indent: the GET body's length is unknown here.
		return next(HeaderHook(w, func(status int, h http.Header) {
			if Transformable(status, h) {
				h.Del("Content-Length")
				h.Del("Accept-Ranges")
			}
		}), r)
	}
	rec, err := holdJSON(w, r, p.MaxBuffer, next)
	if rec == nil {
		return err
	}
	body := rec.Body()
	if !gjson.ValidBytes(body) {
		return rec.Finish(rec.Status(), body)
	}
	limit := p.outputLimit(len(body))
	buf := recorder.GetBuffer()
	defer recorder.PutBuffer(buf)
	// Indentation typically makes a document two to three times longer.
	buf.Grow(min(3*len(body)+256, limit))
	out, ok := appendIndentMax(buf.AvailableBuffer(), body, limit)
	if !ok {
		return rec.Finish(rec.Status(), body)
	}
	setBodyHeaders(w.Header(), len(out))
	return rec.Finish(rec.Status(), out)
}

// readParam returns the name and value of a GET or HEAD request's query
// parameter (name, or def when name is empty), and whether it is there.
func readParam(r *http.Request, name, def string) (string, string, bool) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return "", "", false
	}
	name = orDefault(name, def)
	v, ok := QueryParam(r.URL.RawQuery, name)
	return name, v, ok
}

// holdJSON runs next with its JSON answer held. It returns the Recorder
// holding it for the caller to finish, or nil (and next's error) when the
// answer went out as it was.
func holdJSON(w http.ResponseWriter, r *http.Request, limit int, next middleware.Next) (*recorder.Recorder, error) {
	rec := recorder.New(w, BufferLimit(limit), holdTransformable(w.Header()))
	if err := next(rec, r); err != nil || !rec.Held() {
		return nil, abandon(rec, err)
	}
	return rec, nil
}

// holdTransformable is the Decide of the transforming middlewares: hold
// JSON bodies, pass the rest.
func holdTransformable(h http.Header) recorder.Decide {
	return func(status int, canHold bool) recorder.Mode {
		if canHold && Transformable(status, h) {
			return recorder.Hold
		}
		return recorder.Pass
	}
}

// abandon ends a response the owner does not transform: nothing to do
// unless the inner handler failed after its response was held, in which
// case the held bytes are dropped and the headers that described them
// too, so that Caddy's error handling answers cleanly.
func abandon(rec *recorder.Recorder, err error) error {
	if rec.Held() {
		rec.Discard()
		DropRepresentation(rec.Header())
	}
	return err
}

// setBodyHeaders describes a rewritten body: its length, and no byte
// ranges (they would address the original bytes).
func setBodyHeaders(h http.Header, n int) {
	h.Set("Content-Length", strconv.Itoa(n))
	h.Del("Accept-Ranges")
}

// BufferLimit is a configured buffer bound, DefaultMaxBuffer when unset.
func BufferLimit(n int) int {
	if n <= 0 {
		return DefaultMaxBuffer
	}
	return n
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// HeaderHook returns a writer that calls fn with the final status and
// the headers just before they are written, and passes everything else
// through.
func HeaderHook(w http.ResponseWriter, fn func(status int, h http.Header)) *recorder.Recorder {
	h := w.Header()
	return recorder.New(w, 0, func(status int, _ bool) recorder.Mode {
		fn(status, h)
		return recorder.Pass
	})
}

// Interface guard: the one middleware shape.
var _ middleware.Handler = (*Pretty)(nil)
