package docstore

import (
	"net/http"

	"github.com/changegate/changegate/docstore/query"
	"github.com/changegate/changegate/kinto"
)

// This file exports, for the `changes` endpoints that answer in front of
// the docstore, the pieces of the Kinto protocol they share with it: the
// common response headers, the precondition headers and the rendering of
// query errors.

// Decorate adds to a response that another module answers the headers
// every response of this handler carries: X-Content-Type-Options,
// Content-Security-Policy, CORS, Backoff, Retry-After on 503 and 409 and
// the end-of-service Alert. The Access-Control-Expose-Headers already in
// hd is kept (the default list is set when there is none).
func (h *Handler) Decorate(r *http.Request, status int, hd http.Header) {
	req := &request{method: r.Method, header: r.Header}
	h.finish(req, &response{status: status, header: hd, expose: hd.Get("Access-Control-Expose-Headers")})
}

// Preconditions are a request's validated If-Match and If-None-Match
// headers.
type Preconditions struct{ p preconditions }

// ParsePreconditions validates If-Match and If-None-Match as Kinto does:
// "*" or a quoted integer, else a 400 *kinto.Error.
func ParsePreconditions(hd http.Header) (Preconditions, error) {
	p, err := parsePreconditions(hd)
	return Preconditions{p}, err
}

// NotModified reports whether If-None-Match names the current timestamp.
func (p Preconditions) NotModified(current int64) bool { return p.p.notModified(current) }

// FailedOnList reports whether the preconditions fail on a list (which
// always exists) whose timestamp is current.
func (p Preconditions) FailedOnList(current int64) bool { return p.p.failed(true, current) }

// QueryError renders a list query error as Kinto's 400.
func QueryError(qe *query.Error) *kinto.Error { return fromQueryError(qe) }
