package render

import (
	"bytes"
	"net/http"
	"strconv"

	"github.com/changegate/changegate/internal/middleware"
	"github.com/changegate/changegate/internal/recorder"
	"github.com/changegate/changegate/kinto"
	"github.com/tidwall/gjson"
)

// DefaultCallbackLength bounds callback names unless configured.
const DefaultCallbackLength = 128

// JSONP wraps JSON responses in a call to the function named by the
// ?callback= query parameter, for <script> tags: "/**/ cb(<json>);" as
// application/javascript with nosniff (the Rosetta Flash mitigations),
// U+2028 and U+2029 escaped (line terminators in pre-ES2019 string
// literals). Error responses are wrapped too and answered 200, or the
// browser would not run the script and the page could not see them;
// they get Cache-Control: no-store.
//
// JSONP defeats the same-origin policy: any site can read what the
// response holds for the visitor's browser. So it is refused for
// requests that carry credentials (Authorization, cookies, or a user
// authenticated by Caddy) unless AllowAuthenticated is set.
type JSONP struct {
	// Param is the query parameter. Default: "callback".
	Param string
	// MaxLength bounds the callback name. Default: 128.
	MaxLength int
	// AllowAuthenticated wraps responses to authenticated requests too.
	AllowAuthenticated bool
	// Authenticated reports a user authenticated by another handler; the
	// Authorization and Cookie headers are checked anyway.
	Authenticated func(*http.Request) bool
	// MaxBuffer bounds the body held for wrapping. Default:
	// DefaultMaxBuffer.
	MaxBuffer int
	// Routes tells where refusals take Kinto's error shape.
	Routes Routes
}

// Serve runs the middleware around next.
func (j *JSONP) Serve(w http.ResponseWriter, r *http.Request, next middleware.Next) error {
	param, cb, ok := readParam(r, j.Param, "callback")
	if !ok {
		return next(w, r)
	}
	if refusal := j.check(r, param, cb); refusal != nil {
		return j.Routes.Refuse(w, r, refusal)
	}
	r = withoutParam(r, param)
	if r.Method == http.MethodHead {
		return next(headScript(w), r)
	}
	rec, err := holdJSON(w, r, j.MaxBuffer, next)
	if rec == nil {
		return err
	}
	// gjson's validator agrees with encoding/json's and runs several
	// times faster.
	if !gjson.ValidBytes(rec.Body()) {
		return rec.Finish(rec.Status(), rec.Body())
	}
	out := recorder.GetBuffer()
	defer recorder.PutBuffer(out)
	WrapJSONP(out, cb, rec.Body())
	status := scriptHeaders(w.Header(), rec.Status())
	setBodyHeaders(w.Header(), out.Len())
	return rec.Finish(status, out.Bytes())
}

// headScript gives a HEAD the headers (and status) its GET would have,
// except the length, unknown without the body.
func headScript(w http.ResponseWriter) *recorder.Recorder {
	h := w.Header()
	return recorder.New(w, 0, func(status int, _ bool) recorder.Mode {
		if !Transformable(status, h) {
			return recorder.Pass
		}
		h.Del("Content-Length")
		w.WriteHeader(scriptHeaders(h, status))
		return recorder.Drop
	})
}

// check refuses invalid callbacks and, unless allowed, requests with
// credentials.
func (j *JSONP) check(r *http.Request, param, cb string) *Error {
	max := j.MaxLength
	if max <= 0 {
		max = DefaultCallbackLength
	}
	if !ValidCallback(cb, max) {
		return &Error{Status: http.StatusBadRequest, Message: "invalid JSONP callback name", Param: &kinto.ValidationDetail{
			Location: "querystring", Name: param,
			Description: "must match ^[a-zA-Z_$][\\w$.]*$ and be at most " + strconv.Itoa(max) + " characters"}}
	}
	if !j.AllowAuthenticated && j.credentialed(r) {
		return &Error{Status: http.StatusBadRequest, Message: "JSONP is disabled for authenticated requests", Param: &kinto.ValidationDetail{
			Location: "querystring", Name: param,
			Description: "JSONP is disabled for authenticated requests (it would expose them to any site); use CORS"}}
	}
	return nil
}

// credentialed reports whether the request carries credentials a
// browser sends by itself with a cross-site <script> request.
func (j *JSONP) credentialed(r *http.Request) bool {
	return r.Header.Get("Authorization") != "" || r.Header.Get("Cookie") != "" ||
		(j.Authenticated != nil && j.Authenticated(r))
}

// scriptHeaders turns the headers of a JSON response into those of its
// JSONP script, and returns the status to send: an error becomes a 200
// that no cache keeps, without the validators of the error.
func scriptHeaders(h http.Header, status int) int {
	h.Set("Content-Type", "application/javascript; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	if status < http.StatusBadRequest {
		return status
	}
	h.Set("Cache-Control", "no-store")
	h.Del("Expires")
	h.Del("ETag")
	h.Del("Last-Modified")
	return http.StatusOK
}

// ValidCallback reports whether name matches ^[a-zA-Z_$][\w$.]*$ (Eve's
// check) within max bytes.
func ValidCallback(name string, max int) bool {
	if name == "" || len(name) > max {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_', c == '$':
		case i > 0 && (c >= '0' && c <= '9' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// WrapJSONP appends "/**/ cb(<json>);" to dst, escaping U+2028 and
// U+2029 in the JSON (valid in JSON strings, line terminators in older
// JavaScript).
func WrapJSONP(dst *bytes.Buffer, cb string, js []byte) {
	dst.Grow(len(js) + len(cb) + 8)
	dst.WriteString("/**/ ")
	dst.WriteString(cb)
	dst.WriteByte('(')
	for {
		i := bytes.Index(js, lineSep)
		if i < 0 || i+2 >= len(js) {
			break
		}
		switch js[i+2] {
		case 0xA8:
			dst.Write(js[:i])
			dst.WriteString(`\u2028`)
		case 0xA9:
			dst.Write(js[:i])
			dst.WriteString(`\u2029`)
		default:
			dst.Write(js[:i+3])
		}
		js = js[i+3:]
	}
	dst.Write(js)
	dst.WriteString(");")
}

// lineSep is the UTF-8 prefix of U+2000 to U+203F, U+2028 (E2 80 A8)
// and U+2029 (E2 80 A9) among them; bytes.Index finds it fast and the
// third byte decides.
var lineSep = []byte{0xE2, 0x80}

// Interface guard: the one middleware shape.
var _ middleware.Handler = (*JSONP)(nil)
