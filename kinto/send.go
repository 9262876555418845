package kinto

import (
	"errors"
	"net/http"
	"strconv"
)

// Send answers a request to an endpoint served beside the store (the
// change aggregation, the feeds): the store's common headers through a,
// the security headers, Content-Type and Content-Length for a body, then
// the body unless the method is HEAD. The body may come in several parts
// (a cached prefix and its ends). An empty expose sends no
// Access-Control-Expose-Headers.
func Send(w http.ResponseWriter, r *http.Request, a Access, status int, expose string, parts ...[]byte) {
	hd := w.Header()
	hd.Set("Access-Control-Expose-Headers", expose)
	SetSecurityHeaders(hd)
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
	a.Decorate(r, status, hd)
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

// SendError answers err with Send if it is an *Error, else with Kinto's
// 503, and reports which: the caller logs a failure that is not a Kinto
// answer.
func SendError(w http.ResponseWriter, r *http.Request, a Access, expose string, err error) (known bool) {
	var ke *Error
	known = errors.As(err, &ke)
	if !known {
		ke = Backend()
	}
	ke.CopyHeaderTo(w.Header())
	Send(w, r, a, ke.Code, expose, ke.Body())
	return known
}
