package conditional

import (
	"bytes"
	"context"
	"net/http"

	"github.com/changegate/changegate/internal/middleware"
	"github.com/changegate/changegate/render"
)

// headETag computes the ETag a HEAD answer would have had as a GET: the
// answer has no body to hash, and RFC 9110 §9.3.2 wants HEAD to carry
// the GET's header fields, so the request is run again as a GET whose
// body is hashed and thrown away. It is only tried when the HEAD answer
// has a Content-Length or Content-Encoding, as documents do and streams
// do not; a GET that flushes anyway is cancelled. "" means no ETag.
func (ex *exchange) headETag(next middleware.Next) (etag string) {
	hd := ex.w.Header()
	if hd.Get("Content-Length") == "" && hd.Get("Content-Encoding") == "" {
		return ""
	}
	ctx, cancel := context.WithCancel(ex.r.Context())
	defer cancel()
	get := ex.r.Clone(ctx)
	get.Method = http.MethodGet
	for _, name := range [...]string{"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since", "If-Range", "Range"} {
		get.Header.Del(name)
	}
	c := &bodyCatcher{header: http.Header{}, limit: render.BufferLimit(ex.h.MaxBuffer), cancel: cancel}
	defer func() {
		// reverse_proxy aborts with http.ErrAbortHandler when we cancel
		// a streaming GET; that abort is ours, not the HEAD's.
		if p := recover(); p != nil && p != http.ErrAbortHandler {
			panic(p)
		} else if p != nil {
			etag = ""
		}
	}()
	if err := next(c, get); err != nil || !c.usable() {
		return ""
	}
	return BodyETag(c.body.Bytes())
}

// bodyCatcher is the ResponseWriter of a replayed GET: it keeps the body
// (up to limit) and gives up on streams. It is not a recorder.Recorder:
// there is no client behind it to pass anything to, a flush must cancel
// the replay (a feed would never end), and a body past the limit must
// not (its producer would log a failed write).
type bodyCatcher struct {
	header  http.Header
	status  int
	body    bytes.Buffer
	limit   int
	spoiled bool
	cancel  context.CancelFunc
}

func (c *bodyCatcher) Header() http.Header { return c.header }

func (c *bodyCatcher) WriteHeader(status int) {
	if c.status == 0 && status >= 200 {
		c.status = status
	}
}

// Write keeps p; past the limit the body is only counted out, so that a
// large document does not make its producer fail.
func (c *bodyCatcher) Write(p []byte) (int, error) {
	c.WriteHeader(http.StatusOK)
	if c.body.Len()+len(p) > c.limit {
		c.spoiled = true
		return len(p), nil
	}
	return c.body.Write(p)
}

// FlushError means a stream: stop it.
func (c *bodyCatcher) FlushError() error {
	c.spoiled = true
	c.cancel()
	return nil
}

// usable reports whether the GET gave what a hash needs: a whole 200
// JSON body without an ETag of its own.
func (c *bodyCatcher) usable() bool {
	return !c.spoiled && (c.status == http.StatusOK || c.status == 0) &&
		c.header.Get("Etag") == "" && render.IsJSON(c.header) && !render.IsStream(c.header)
}
