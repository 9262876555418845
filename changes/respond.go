package changes

import (
	"net/http"

	"github.com/changegate/changegate/kinto"
)

// errBackend is Kinto's answer to a storage failure.
func errBackend() *kinto.Error { return kinto.Backend() }

// errNotFound is Kinto's 404 for a collection that does not exist.
func errNotFound() *kinto.Error { return kinto.UnknownPath() }

// send writes a response with the store's headers (kinto.Send).
func (h *Handler) send(w http.ResponseWriter, r *http.Request, status int, expose string, parts ...[]byte) {
	kinto.Send(w, r, h.access, status, expose, parts...)
}

// sendError answers a Kinto error, or Kinto's 503 for any other failure
// (logged).
func (h *Handler) sendError(w http.ResponseWriter, r *http.Request, expose string, err error) {
	if !kinto.SendError(w, r, h.access, expose, err) {
		h.logger.Error("serving changes", "method", r.Method, "path", r.URL.Path, "error", err)
	}
}

// methodNotAllowed answers 405 as the reference does for these
// read-only endpoints (transcript 70: no expose list).
func (h *Handler) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	e := kinto.MethodNotAllowed("GET, HEAD, OPTIONS")
	e.CopyHeaderTo(w.Header())
	h.send(w, r, e.Code, "", e.Body())
}

// isNotFound reports a 404 Kinto error.
func isNotFound(err error) bool { return kinto.IsNotFound(err) }

// requestOrigin is scheme://host as the client addressed us.
func requestOrigin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
