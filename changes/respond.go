package changes

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/changegate/changegate/docstore"
)

// Access-Control-Expose-Headers lists, as the reference server sends them
// (transcripts 7, 8, 38, 50).
const (
	exposeDefault    = "Backoff, Content-Length, Retry-After, Content-Type, Alert"
	exposePluralRead = "Last-Modified, Backoff, Cache-Control, Next-Page, ETag, Pragma, Expires, Content-Length, Retry-After, Content-Type, Alert"
	exposePluralHead = "Total-Records, Last-Modified, Backoff, Total-Objects, Cache-Control, Next-Page, ETag, Pragma, Expires, Content-Length, Retry-After, Content-Type, Alert"
)

// errBackend is Kinto's answer to a storage failure.
func errBackend() *docstore.Error {
	return docstore.NewError(http.StatusServiceUnavailable, docstore.ErrnoBackend,
		"Service temporary unavailable due to overloading or maintenance, please retry later.")
}

// errNotFound is Kinto's 404 for a collection that does not exist.
func errNotFound() *docstore.Error {
	return docstore.NewError(http.StatusNotFound, docstore.ErrnoMissingResource,
		"The resource you are looking for could not be found.")
}

// send writes a response: the store's common headers, Content-Type and
// Content-Length for a body, then the body unless the method is HEAD.
// The body may come in several parts (a cached prefix and its ends). An
// empty expose sends no Access-Control-Expose-Headers.
func (h *Handler) send(w http.ResponseWriter, r *http.Request, status int, expose string, parts ...[]byte) {
	hd := w.Header()
	hd.Set("Access-Control-Expose-Headers", expose)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; ")
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
	var ke *docstore.Error
	if !errors.As(err, &ke) {
		h.logger.Error("serving changes", "method", r.Method, "path", r.URL.Path, "error", err)
		ke = errBackend()
	}
	for k, v := range ke.Header() {
		w.Header()[k] = v
	}
	h.send(w, r, ke.Code, expose, ke.Body())
}

// methodNotAllowed answers 405 as the reference does for these
// read-only endpoints (transcript 70: no expose list).
func (h *Handler) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	e := docstore.NewError(http.StatusMethodNotAllowed, docstore.ErrnoMethodNotAllowed, "Method not allowed on this endpoint.")
	w.Header().Set("Allow", "GET, HEAD, OPTIONS")
	h.send(w, r, e.Code, "", e.Body())
}

// isNotFound reports a 404 Kinto error.
func isNotFound(err error) bool {
	var ke *docstore.Error
	return errors.As(err, &ke) && ke.Code == http.StatusNotFound
}

// requestOrigin is scheme://host as the client addressed us.
func requestOrigin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
