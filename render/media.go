package render

import (
	"net/http"
	"strings"
)

// IsJSON reports whether the response is JSON: application/json or a
// structured-syntax type such as application/problem+json (RFC 6839).
func IsJSON(h http.Header) bool {
	mt := mediaType(h.Get("Content-Type"))
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// IsStream reports whether the response announces itself as a stream
// before any byte of it: server-sent events, or RFC 10036's
// "Incremental: ?1". Other streams (chunked long polls, continuous
// feeds) are recognised by their first flush, see Recorder.
func IsStream(h http.Header) bool {
	return mediaType(h.Get("Content-Type")) == "text/event-stream" || h.Get("Incremental") == "?1"
}

// IsIdentity reports whether the body is not content-coded (gzip...), so
// that its bytes are the JSON itself.
func IsIdentity(h http.Header) bool {
	ce := h.Get("Content-Encoding")
	return ce == "" || strings.EqualFold(ce, "identity")
}

// Transformable reports whether a response body may be rewritten as
// JSON: a final status with a body, JSON, not content-coded, not a
// stream.
func Transformable(status int, h http.Header) bool {
	return status != http.StatusNoContent && status != http.StatusNotModified &&
		IsJSON(h) && IsIdentity(h) && !IsStream(h)
}

// mediaType returns the lower-cased media type without parameters,
// without the allocation of mime.ParseMediaType on the common path.
func mediaType(ct string) string {
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	ct = strings.TrimSpace(ct)
	for i := 0; i < len(ct); i++ {
		if c := ct[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(ct)
		}
	}
	return ct
}
