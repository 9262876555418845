package upstream

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"

	"github.com/changegate/changegate/internal/middleware"
	"github.com/changegate/changegate/internal/recorder"
	"github.com/changegate/changegate/kinto"
)

// Proxy defaults.
const (
	// DefaultMaxObservedBody bounds the write answers kept to read their
	// timestamps; a longer one (a big batch) makes the source poll at
	// once.
	DefaultMaxObservedBody = 1 << 20
	// DefaultTimestampTolerance is the docstore's own default.
	DefaultTimestampTolerance = 10 * time.Minute
)

// ErrReadingBody wraps a failure to read a write's body: the client's
// fault (400), not the upstream's.
var ErrReadingBody = errors.New("reading the request body")

// Proxy is the sidecar's hand on the requests it passes to the upstream
// through its next handler (reverse_proxy): it reads the answers to
// writes on their way back, so that the source (the monitor and feeds)
// learns of them at once, refuses writes with a client timestamp too far
// ahead, and lists the changes capability in the upstream's root.
type Proxy struct {
	Source *Source
	// Prefix is the API prefix as the sidecar's clients see it: /v1.
	Prefix string
	// MaxObservedBody bounds the write bodies and answers read on their
	// way through. Default: DefaultMaxObservedBody.
	MaxObservedBody int64
	// Tolerance is how far past the clock a client last_modified may be
	// (see FutureTimestamp). Default: DefaultTimestampTolerance.
	Tolerance time.Duration
	// Capability is the "changes" entry of GET {Prefix}/ when the
	// upstream lists none.
	Capability any
}

var _ middleware.Handler = (*Proxy)(nil)

// Serve passes r to next, patching the root document and observing
// writes on the way back.
func (p *Proxy) Serve(w http.ResponseWriter, r *http.Request, next middleware.Next) error {
	if r.Method == http.MethodGet && r.URL.Path == p.Prefix+"/" {
		return p.serveRoot(w, r, next)
	}
	if !Observes(p.Prefix, r.Method, r.URL.Path) {
		return next(w, r)
	}
	if refused, err := p.futureTimestamp(r); refused != nil || err != nil {
		if refused != nil {
			kinto.WriteError(w, r, refused)
		}
		return err
	}
	// The answer to a write is small: asking it uncompressed lets the
	// sidecar read it (an `encode` in front still compresses it for the
	// client).
	r.Header.Del("Accept-Encoding")
	t := newTap(w, p.maxBody(), func(t *tap) {
		p.Source.Observe(p.Prefix, r.Method, r.URL.Path, cmp.Or(t.status, http.StatusOK), t.Header(), t.body, t.complete())
	})
	err := next(t, r)
	t.done()
	return err
}

func (p *Proxy) maxBody() int64 { return cmp.Or(p.MaxObservedBody, DefaultMaxObservedBody) }

// futureTimestamp reads the start of a write's body (what fits in
// maxBody, then puts it back for the upstream) and refuses a
// last_modified beyond the tolerance (see FutureTimestamp).
func (p *Proxy) futureTimestamp(r *http.Request) (*kinto.Error, error) {
	var head []byte
	if r.Body != nil && r.Body != http.NoBody {
		var err error
		head, err = io.ReadAll(io.LimitReader(r.Body, p.maxBody()+1))
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrReadingBody, err)
		}
		r.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(head), r.Body), r.Body}
		if int64(len(head)) > p.maxBody() {
			return nil, nil
		}
	}
	return FutureTimestamp(p.Prefix, r, head, time.Now(), cmp.Or(p.Tolerance, DefaultTimestampTolerance)), nil
}

// serveRoot passes GET /v1/ to the upstream and lists the "changes"
// capability in its answer, as the docstore does in standalone mode (and
// as Kinto does with the changes plugin), unless the upstream lists one.
func (p *Proxy) serveRoot(w http.ResponseWriter, r *http.Request, next middleware.Next) error {
	r.Header.Del("Accept-Encoding")
	rec := recorder.New(w, int(p.maxBody()), func(status int, canHold bool) recorder.Mode {
		hd := w.Header()
		if canHold && status == http.StatusOK && identityEncoded(hd) && strings.HasPrefix(hd.Get("Content-Type"), "application/json") {
			return recorder.Keep
		}
		return recorder.Pass
	})
	if err := next(rec, r); err != nil {
		if rec.Held() {
			rec.Discard()
		}
		return err
	}
	if !rec.Held() {
		return nil
	}
	body := PatchCapability(rec.Body(), p.Capability)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	return rec.Finish(rec.Status(), body)
}

// PatchCapability adds capability as capabilities.changes of a root
// document that has a capabilities object without one.
func PatchCapability(root []byte, capability any) []byte {
	caps := gjson.GetBytes(root, "capabilities")
	if !caps.IsObject() || caps.Get("changes").Exists() {
		return root
	}
	patched, err := sjson.SetBytes(root, "capabilities.changes", capability)
	if err != nil {
		return root
	}
	return patched
}

// identityEncoded reports a body that is not compressed.
func identityEncoded(hd http.Header) bool {
	ce := hd.Get("Content-Encoding")
	return ce == "" || strings.EqualFold(ce, "identity")
}
