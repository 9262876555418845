package feeds

import (
	"net/http"

	"github.com/changegate/changegate/kinto"
)

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
		h.logger.Error("serving a feed", "method", r.Method, "path", r.URL.Path, "error", err)
	}
}
