package ratelimit

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/changegate/changegate/internal/cors"
	"github.com/changegate/changegate/kinto"
)

// Format is the body of a refusal (429) or of a store failure (503).
type Format int

// The formats.
const (
	// FormatJSON is RFC 9457 problem details: the draft's quota-exceeded
	// problem type on 429, with the refusing policies in
	// "violated-policies".
	FormatJSON Format = iota
	// FormatKinto is Kinto's error body: errno 117 on 429, errno 201 (the
	// backend error) on 503 (kinto/core/errors.py).
	FormatKinto
	// FormatPlain is the status text as text/plain.
	FormatPlain
	// FormatAuto is FormatKinto on Kinto routes, FormatJSON elsewhere
	// (see Middleware.Kinto).
	FormatAuto
)

// ParseFormat reads "auto", "json", "kinto" or "plain".
func ParseFormat(s string) (Format, error) {
	switch s {
	case "auto":
		return FormatAuto, nil
	case "json":
		return FormatJSON, nil
	case "kinto":
		return FormatKinto, nil
	case "plain":
		return FormatPlain, nil
	}
	return 0, fmt.Errorf("unknown format %q (want auto, json, kinto or plain)", s)
}

// Kinto's bodies, rendered once: errno 117 on 429, the backend error
// (errno 201) on 503.
var (
	kintoTooMany     = string(kinto.TooManyRequests().Body())
	kintoUnavailable = string(kinto.Backend().Body())
)

const problemUnavail = `{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"Rate limits cannot be checked right now."}`

// quotaExceeded is the draft's problem type (draft-ietf-httpapi-ratelimit-
// headers §4.1).
type quotaExceeded struct {
	Type             string   `json:"type"`
	Title            string   `json:"title"`
	Status           int      `json:"status"`
	ViolatedPolicies []string `json:"violated-policies"`
}

// Reject answers 429 with Retry-After and the body of format f, CORS
// origin fields by cp for the Kinto format. The rate limit headers must
// already be set (SetHeaders).
func Reject(w http.ResponseWriter, r *http.Request, f Format, cp cors.Policy, d Decision, policies []*Policy) {
	SetRetryAfter(w.Header(), d.RetryAfter())
	var body string
	switch f {
	case FormatKinto:
		writeKinto(w, r, cp, http.StatusTooManyRequests, kintoTooMany)
		return
	case FormatPlain:
		body = http.StatusText(http.StatusTooManyRequests) + "\n"
	default:
		p := quotaExceeded{
			Type:   "https://iana.org/assignments/http-problem-types#quota-exceeded",
			Title:  "Request cannot be satisfied as assigned quota has been exceeded",
			Status: http.StatusTooManyRequests,
		}
		for i, s := range d.States {
			if !s.Allowed {
				p.ViolatedPolicies = append(p.ViolatedPolicies, policies[i].Name)
			}
		}
		b, _ := json.Marshal(p) // plain strings: cannot fail
		body = string(b)
	}
	write(w, r, f, http.StatusTooManyRequests, body)
}

// Unavailable answers 503 with Retry-After when the store cannot decide
// and the limiter fails closed.
func Unavailable(w http.ResponseWriter, r *http.Request, f Format, cp cors.Policy, retryAfter time.Duration) {
	SetRetryAfter(w.Header(), retryAfter)
	body := problemUnavail
	switch f {
	case FormatKinto:
		writeKinto(w, r, cp, http.StatusServiceUnavailable, kintoUnavailable)
		return
	case FormatPlain:
		body = http.StatusText(http.StatusServiceUnavailable) + "\n"
	}
	write(w, r, f, http.StatusServiceUnavailable, body)
}

// writeKinto answers in Kinto's error format.
func writeKinto(w http.ResponseWriter, r *http.Request, cp cors.Policy, status int, body string) {
	h := w.Header()
	// Let browser Kinto clients read the refusal and its Retry-After:
	// without CORS headers a 429 reaches their code as a network error.
	// The origin rule is the docstore's, so that a client sending
	// credentials to a listed origin can read it too.
	if origin := r.Header.Get("Origin"); origin != "" {
		cp.Apply(origin, h)
		h.Set("Access-Control-Expose-Headers", exposedHeaderList)
	}
	setNoStore(h)
	kinto.WriteJSON(w, r, status, []byte(body))
}

func write(w http.ResponseWriter, r *http.Request, f Format, status int, body string) {
	h := w.Header()
	switch f {
	case FormatPlain:
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("X-Content-Type-Options", "nosniff")
	default:
		h.Set("Content-Type", "application/problem+json")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	setNoStore(h)
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = io.WriteString(w, body)
	}
}

// setNoStore forbids caching the refusal (RFC 6585 §4: a 429 must not be
// stored by a cache).
func setNoStore(h http.Header) { h.Set("Cache-Control", "no-store") }
