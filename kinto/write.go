package kinto

import (
	"net/http"
	"strconv"
)

// WriteError answers e as Kinto does, for a layer that refuses a request
// before it reaches the store (throttle, conditional, pretty/JSONP): the
// error's own headers, then its JSON body.
func WriteError(w http.ResponseWriter, r *http.Request, e *Error) {
	e.CopyHeaderTo(w.Header())
	WriteJSON(w, r, e.Code, e.Body())
}

// WriteJSON writes an already rendered Kinto JSON body with the headers
// every Kinto answer has (Content-Type, Content-Length, nosniff); a HEAD
// gets the headers only.
func WriteJSON(w http.ResponseWriter, r *http.Request, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}
