package docstore

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/changegate/changegate/kinto"
)

// request is one API call, direct or a batch sub-request, with its body
// already read.
type request struct {
	method string
	// path is the URL path below the version prefix ("/buckets/b").
	path   string
	query  url.Values
	header http.Header
	body   []byte
	// origin is scheme://host as the client addressed us, for the URLs we
	// hand back (Next-Page, url).
	origin string
	// userID is the authenticated principal ("account:alice"), or "" when
	// anonymous.
	userID string
}

// principal is the identity credited with writes: the user, or
// system.Everyone for anonymous requests (as Kinto does).
func (r *request) principal() string {
	if r.userID == "" {
		return "system.Everyone"
	}
	return r.userID
}

// isRead reports whether the method never writes.
func (r *request) isRead() bool {
	return r.method == http.MethodGet || r.method == http.MethodHead
}

// response is what an API call answers before the common headers are
// added.
type response struct {
	status int
	header http.Header
	body   []byte
	// expose is the Access-Control-Expose-Headers list for this endpoint.
	expose string
}

func newResponse(status int, body []byte) *response {
	return &response{status: status, header: http.Header{}, body: body}
}

// errorResponse renders a Kinto error.
func errorResponse(err *kinto.Error) *response {
	resp := newResponse(err.Code, err.Body())
	err.CopyHeaderTo(resp.header)
	return resp
}

// setTimestamp sets ETag and Last-Modified from a Kinto timestamp.
func (resp *response) setTimestamp(ts int64) {
	resp.header.Set("ETag", `"`+strconv.FormatInt(ts, 10)+`"`)
	resp.header.Set("Last-Modified", httpDate(ts))
}

type userKey struct{}

// WithUser returns a context carrying the authenticated user id
// ("account:alice"); the Caddy glue sets it from {http.auth.user.id}.
func WithUser(ctx context.Context, userID string) context.Context {
	return context.WithValue(ctx, userKey{}, userID)
}

// userFrom returns the user id set by WithUser, or "".
func userFrom(ctx context.Context) string {
	id, _ := ctx.Value(userKey{}).(string)
	return id
}
