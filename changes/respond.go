package changes

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/changegate/changegate/kinto"
)

// errBackend is Kinto's answer to a storage failure.
func errBackend() *kinto.Error { return kinto.Backend() }

// errNotFound is Kinto's 404 for a collection that does not exist.
func errNotFound() *kinto.Error { return kinto.UnknownPath() }

// send writes a response: the store's common headers, Content-Type and
// Content-Length for a body, then the body unless the method is HEAD.
// The body may come in several parts (a cached prefix and its ends). An
// empty expose sends no Access-Control-Expose-Headers.
func (h *Handler) send(w http.ResponseWriter, r *http.Request, status int, expose string, parts ...[]byte) {
	hd := w.Header()
	hd.Set("Access-Control-Expose-Headers", expose)
	kinto.SetSecurityHeaders(hd)
	if len(parts) > 0 {
		n := 0
		for _, p := range parts {
			n += len(p)
		}
		if hd.Get("Content-Type") == "" {
			hd.Set("Content-Type", "application/json")
		}
		hd.Set("Content-Length", strconv.Itoa(n))
	}
	h.access.Decorate(r, status, hd)
	if expose == "" {
		hd.Del("Access-Control-Expose-Headers")
	}
	w.WriteHeader(status)
	if r.Method == http.MethodHead {
		return
	}
	for _, p := range parts {
		if _, err := w.Write(p); err != nil {
			return
		}
	}
}

// sendError answers a Kinto error, or Kinto's 503 for any other failure
// (logged).
func (h *Handler) sendError(w http.ResponseWriter, r *http.Request, expose string, err error) {
	var ke *kinto.Error
	if !errors.As(err, &ke) {
		h.logger.Error("serving changes", "method", r.Method, "path", r.URL.Path, "error", err)
		ke = errBackend()
	}
	ke.CopyHeaderTo(w.Header())
	h.send(w, r, ke.Code, expose, ke.Body())
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
