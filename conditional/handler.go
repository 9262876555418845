package conditional

import (
	"net/http"
	"slices"

	"github.com/changegate/changegate/internal/middleware"
	"github.com/changegate/changegate/internal/recorder"
	"github.com/changegate/changegate/kinto"
	"github.com/changegate/changegate/render"
)

// DefaultRequire are the methods RequirePrecondition applies to when
// none are given: the writes that replace or remove a document.
var DefaultRequire = []string{http.MethodPut, http.MethodPatch, http.MethodDelete}

// Handler is the conditional-request middleware. It is meant to sit
// outside Caddy's encode, so that it sees the validators clients really
// send and the ETags encode really emits:
//
//   - every If-Match / If-None-Match member loses its encode suffix
//     (`"x-gzip"` → `"x"`) before anything below sees it (encode itself
//     strips only If-None-Match, and only a whole value);
//   - writes (anything but GET and HEAD) go to the upstream with their
//     preconditions, since it owns the current state; with Require, a
//     write carrying neither If-Match nor If-None-Match is refused with
//     428 before it reaches the upstream;
//   - GET and HEAD answers that would be 2xx are checked against their
//     ETag and Last-Modified (RFC 9110 §13.2.2), giving 304 or 412;
//     on Kinto routes the handler below owns If-Match and If-None-Match,
//     so only the date preconditions are evaluated there;
//     a 200 JSON answer without ETag gets one computed from its bytes
//     when Hash is on (not on Kinto routes);
//   - on Kinto routes, ETags keep Kinto's quoted-integer form: encode's
//     suffix is removed again on the way out.
type Handler struct {
	// Routes tells Kinto routes apart.
	Routes render.Routes
	// Hash computes strong ETags for 200 JSON answers to GET and HEAD
	// that have none.
	Hash bool
	// MaxBuffer bounds the bodies held for hashing. Default:
	// render.DefaultMaxBuffer.
	MaxBuffer int
	// Require lists the methods that must carry If-Match or
	// If-None-Match (Eve's ENFORCE_IF_MATCH); none by default.
	Require []string
}

var (
	errPreconditionRequired = &render.Error{Status: http.StatusPreconditionRequired,
		Errno:   kinto.ErrnoMissingParameters,
		Message: "This request must be conditional: send If-Match with the ETag you read, or If-None-Match: * to create."}
	errPreconditionFailed = &render.Error{Status: http.StatusPreconditionFailed,
		Errno: kinto.ErrnoModifiedMeanwhile, Message: "Resource was modified meanwhile"}
)

// Serve runs the middleware around next.
func (h *Handler) Serve(w http.ResponseWriter, r *http.Request, next middleware.Next) error {
	sent := normalizeRequest(r.Header)
	if slices.Contains(h.Require, r.Method) && r.Header.Get("If-Match") == "" && r.Header.Get("If-None-Match") == "" {
		return h.Routes.Refuse(w, r, errPreconditionRequired)
	}
	ex := &exchange{h: h, w: w, r: r, sent: sent, kinto: h.Routes.Kinto(r.URL.Path),
		safe: r.Method == http.MethodGet || r.Method == http.MethodHead}
	if !ex.kinto && (!ex.safe || (!h.Hash && !hasPreconditions(r.Header))) {
		return next(w, r)
	}
	rec := recorder.New(w, render.BufferLimit(h.MaxBuffer), ex.decide)
	err := next(rec, r)
	return ex.finish(rec, err, next)
}

// normalizeRequest strips encode suffixes from If-Match and
// If-None-Match, and returns the If-None-Match tags that had one.
func normalizeRequest(hd http.Header) (sentINM []Tag) {
	for _, name := range [...]string{"If-Match", "If-None-Match"} {
		v, ok := field(hd, name)
		if !ok {
			continue
		}
		if out, stripped, changed := StripEncodings(v); changed {
			hd.Set(name, out)
			if name == "If-None-Match" {
				sentINM = stripped
			}
		}
	}
	return sentINM
}

// hasPreconditions reports whether the request has anything to
// evaluate.
func hasPreconditions(hd http.Header) bool {
	return len(hd["If-Match"]) > 0 || len(hd["If-None-Match"]) > 0 ||
		len(hd["If-Modified-Since"]) > 0 || len(hd["If-Unmodified-Since"]) > 0
}

// exchange is one request going through the middleware.
type exchange struct {
	h     *Handler
	w     http.ResponseWriter
	r     *http.Request
	sent  []Tag
	kinto bool
	safe  bool
	// failed is set when a 412 must be answered through Caddy's error
	// handling once the inner handler returns.
	failed bool
}

// decide runs when the answer's status and headers are known.
func (ex *exchange) decide(status int, canHold bool) recorder.Mode {
	hd := ex.w.Header()
	if ex.kinto {
		if etag, ok := KintoETag(hd.Get("Etag")); ok {
			hd.Set("Etag", etag)
		}
	}
	if status == http.StatusNotModified {
		ex.echoSentTag(hd)
		return recorder.Pass
	}
	if !ex.safe || status < 200 || status > 299 || ex.answeredBelow() {
		return recorder.Pass
	}
	if canHold && ex.hashable(status, hd) {
		return recorder.Hold
	}
	return ex.settle()
}

// answeredBelow reports whether the handler below already decided the
// request's preconditions: a Kinto server evaluates If-Match and
// If-None-Match itself, and some of its routes deliberately answer 200
// where a generic evaluation would say 304 (the changes plugin's monitor
// list answers {"data":[]} to a matching If-None-Match). Deciding them
// again here would change its answers. Date preconditions, which Kinto
// ignores, are still ours; RFC 9110 §13.2.2 ignores them anyway when a
// tag precondition is present.
func (ex *exchange) answeredBelow() bool {
	return ex.kinto && (len(ex.r.Header["If-Match"]) > 0 || len(ex.r.Header["If-None-Match"]) > 0)
}

// hashable reports whether the answer needs a computed ETag.
func (ex *exchange) hashable(status int, hd http.Header) bool {
	return ex.h.Hash && !ex.kinto && status == http.StatusOK && hd.Get("Etag") == "" &&
		render.IsJSON(hd) && !render.IsStream(hd)
}

// settle evaluates the preconditions against the answer's validators
// and answers 304 or 412 instead of it when they say so.
func (ex *exchange) settle() recorder.Mode {
	switch Evaluate(ex.r.Method, ex.r.Header, ValidatorsOf(ex.w.Header())) {
	case NotModified:
		ex.notModified()
		return recorder.Drop
	case Failed:
		// The 412 replaces the answer: neither its body nor its caching
		// (no cache may keep a refusal meant for one request's
		// preconditions) carry over; its validators do.
		hd := ex.w.Header()
		render.DropRepresentation(hd)
		hd.Del("Cache-Control")
		hd.Del("Expires")
		if ex.kinto {
			_ = ex.h.Routes.Refuse(ex.w, ex.r, errPreconditionFailed)
		} else {
			ex.failed = true
		}
		return recorder.Drop
	}
	return recorder.Pass
}

// notModified answers 304 with the headers RFC 9110 §15.4.5 wants
// (ETag, Cache-Control, Expires, Vary, Content-Location, Date: all kept)
// and none of the body's; Last-Modified only without an ETag, as Go's
// net/http does.
func (ex *exchange) notModified() {
	hd := ex.w.Header()
	render.DropRepresentation(hd)
	if hd.Get("Etag") != "" {
		hd.Del("Last-Modified")
	}
	ex.echoSentTag(hd)
	ex.w.WriteHeader(http.StatusNotModified)
}

// echoSentTag gives a 304 the tag the client sent when they differ only
// by an encode suffix, so that the client's cache recognises the stored
// response it validates (RFC 9111 §4.3.4). Not on Kinto routes, whose
// tags stay integers.
func (ex *exchange) echoSentTag(hd http.Header) {
	if ex.kinto || len(ex.sent) == 0 {
		return
	}
	t, ok := ParseTag(hd.Get("Etag"))
	if !ok {
		return
	}
	t, _ = StripEncoding(t)
	for _, s := range ex.sent {
		if bare, _ := StripEncoding(s); bare.Opaque == t.Opaque {
			hd.Set("Etag", s.String())
			return
		}
	}
}

// finish completes the exchange once the inner handler returned.
func (ex *exchange) finish(rec *recorder.Recorder, err error, next middleware.Next) error {
	if err != nil {
		if rec.Held() {
			rec.Discard()
			render.DropRepresentation(ex.w.Header())
		}
		return err
	}
	if rec.Held() {
		if err := ex.finishHeld(rec, next); err != nil {
			return err
		}
	}
	if ex.failed {
		return errPreconditionFailed
	}
	return nil
}

// finishHeld sends a held answer with its computed ETag, or the 304 or
// 412 that the ETag leads to.
func (ex *exchange) finishHeld(rec *recorder.Recorder, next middleware.Next) error {
	etag := ""
	if ex.r.Method == http.MethodHead {
		etag = ex.headETag(next)
	} else {
		etag = BodyETag(rec.Body())
	}
	if etag != "" {
		ex.w.Header().Set("Etag", etag)
	}
	if ex.settle() != recorder.Pass {
		rec.Discard()
		return nil
	}
	return rec.Finish(rec.Status(), rec.Body())
}

// Interface guard: the one middleware shape.
var _ middleware.Handler = (*Handler)(nil)
