package upstream

import (
	"net/http"
	"strconv"

	"github.com/changegate/changegate/kinto"
	"github.com/tidwall/gjson"
)

// errUnavailable is Kinto's 503 for a backend failure, with the seconds
// until the next attempt to reach the upstream.
func errUnavailable(retryAfter int) *kinto.Error {
	return kinto.Backend().WithHeader("Retry-After", strconv.Itoa(max(retryAfter, 1)))
}

// errInconsistent is Kinto's answer to a changeset whose records changed
// while it was read (IntegrityError: 409, errno 122, Retry-After).
func errInconsistent(retryAfter int) *kinto.Error {
	return kinto.NewError(http.StatusConflict, kinto.ErrnoConstraintViolated,
		"Integrity constraint violated, please retry.").
		WithHeader("Retry-After", strconv.Itoa(retryAfter))
}

// upstreamError turns an upstream error answer into the same Kinto error,
// so that its 401/403/404 reach the client as the upstream wrote them.
func upstreamError(r *response) *kinto.Error {
	body := gjson.ParseBytes(r.body)
	errno := int(body.Get("errno").Int())
	if errno == 0 {
		errno = kinto.ErrnoUndefined
	}
	e := kinto.NewError(r.status, errno, body.Get("message").String())
	if title := body.Get("error").String(); title != "" {
		e.Title = title
	}
	e.Info = body.Get("info").String()
	if d := body.Get("details"); d.Exists() {
		e.Details = rawJSON(d.Raw)
	}
	for _, h := range []string{"WWW-Authenticate", "Retry-After"} {
		if v := r.header.Get(h); v != "" {
			e.WithHeader(h, v)
		}
	}
	return e
}

// rawJSON marshals as itself.
type rawJSON string

// MarshalJSON returns the raw JSON.
func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }
