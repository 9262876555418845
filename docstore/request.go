package docstore

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"

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

// preconditions are the validated If-Match / If-None-Match values: a
// timestamp, "*" (any) or absent.
type preconditions struct {
	ifMatch, ifNoneMatch precondition
}

type precondition struct {
	set bool
	any bool
	ts  int64
}

// parsePreconditions validates the precondition headers; Kinto accepts
// only "*" or a quoted integer (HeaderQuotedInteger).
func parsePreconditions(h http.Header) (preconditions, error) {
	var p preconditions
	var err error
	if p.ifMatch, err = parsePrecondition(h, "If-Match"); err != nil {
		return p, err
	}
	p.ifNoneMatch, err = parsePrecondition(h, "If-None-Match")
	return p, err
}

func parsePrecondition(h http.Header, name string) (precondition, error) {
	v := strings.TrimSpace(h.Get(name))
	if v == "" {
		return precondition{}, nil
	}
	if v == "*" {
		return precondition{set: true, any: true}, nil
	}
	if len(v) > 2 && v[0] == '"' && v[len(v)-1] == '"' {
		if ts, err := strconv.ParseInt(v[1:len(v)-1], 10, 64); err == nil && ts >= 0 {
			return precondition{set: true, ts: ts}, nil
		}
	}
	return precondition{}, kinto.Invalid(kinto.ValidationDetail{Location: "header", Name: name,
		Description: "The value should be integer between double quotes."})
}

// notModified reports whether If-None-Match names the current timestamp.
func (p preconditions) notModified(current int64) bool {
	return p.ifNoneMatch.set && !p.ifNoneMatch.any && p.ifNoneMatch.ts == current
}

// failed applies Kinto's 412 rules: If-None-Match: * fails on an existing
// object, If-Match fails on a missing object or another timestamp.
func (p preconditions) failed(exists bool, current int64) bool {
	switch {
	case p.ifNoneMatch.any && exists:
		return true
	case p.ifMatch.set && !exists:
		return true
	case p.ifMatch.set && !p.ifMatch.any:
		return p.ifMatch.ts != current
	}
	return false
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
