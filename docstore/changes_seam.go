package docstore

import (
	"net/http"
)

// This file exports, for the `changes` endpoints that answer in front of
// the docstore, its common response headers.

// Decorate adds to a response that another module answers the headers
// every response of this handler carries: X-Content-Type-Options,
// Content-Security-Policy, CORS, Backoff, Retry-After on 503 and 409 and
// the end-of-service Alert. The Access-Control-Expose-Headers already in
// hd is kept (the default list is set when there is none).
func (h *Handler) Decorate(r *http.Request, status int, hd http.Header) {
	req := &request{method: r.Method, header: r.Header}
	h.finish(req, &response{status: status, header: hd, expose: hd.Get("Access-Control-Expose-Headers")})
}
