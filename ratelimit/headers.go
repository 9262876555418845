package ratelimit

import (
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Header names in canonical form, so that setting them skips
// canonicalisation on every request.
const (
	headerLimit       = "X-Ratelimit-Limit"
	headerRemaining   = "X-Ratelimit-Remaining"
	headerReset       = "X-Ratelimit-Reset"
	headerPolicy      = "Ratelimit-Policy"
	headerRateLimit   = "Ratelimit"
	headerRetryAfter  = "Retry-After"
	exposedHeaderList = "Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, RateLimit, RateLimit-Policy, Content-Length, Content-Type"
	// rateLimitHeaderList names the fields browsers must be allowed to
	// read on answers that are not refusals.
	rateLimitHeaderList = "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, RateLimit, RateLimit-Policy"
)

// ExposeHeaders lets cross-origin browser code read the rate-limit fields
// (CORS, Access-Control-Expose-Headers): a handler further in that sets
// its own list is expected to keep what is already there.
func ExposeHeaders(h http.Header) {
	h.Add("Access-Control-Expose-Headers", rateLimitHeaderList)
}

// SetHeaders writes the rate limit fields of a decision; policies[i] is
// the policy of d.States[i].
//
// X-RateLimit-Limit, -Remaining and -Reset come from the tightest limit,
// as Eve, GitHub and X send them: Reset is the epoch second at which its
// whole budget is back. With ietf set, RateLimit-Policy and RateLimit
// (draft-ietf-httpapi-ratelimit-headers) list every limit of the request:
// q and w are the quota and window, r the remaining events and t the
// seconds until one more event is available (omitted when the budget is
// full, as nothing is pending).
//
// Most responses go to clients well within their budget, whose values
// are those of a full budget less one event: Policy keeps those ready,
// and the reset second is formatted once per second, so such a response
// costs one allocation (the fields' []string, which the handlers after
// us may edit in place).
func SetHeaders(h http.Header, d Decision, policies []*Policy, ietf bool) {
	i := d.Tightest()
	s, p := d.States[i], policies[i]
	n := 3
	if ietf {
		n = 5
	}
	vals := make([]string, n)
	vals[0] = p.events
	vals[1] = p.remaining(s)
	vals[2] = resetSecond(ceilDiv(d.Now.UnixMicro()+s.Reset.Microseconds(), 1e6))
	h[headerLimit], h[headerRemaining], h[headerReset] = vals[0:1:1], vals[1:2:2], vals[2:3:3]
	if !ietf {
		return
	}
	vals[3], vals[4] = policyList(policies), rateLimitValue(d, policies)
	h[headerPolicy], h[headerRateLimit] = vals[3:4:4], vals[4:5:5]
}

// rateLimitValue is the RateLimit field value: one item per policy.
func rateLimitValue(d Decision, policies []*Policy) string {
	if len(policies) == 1 {
		return policies[0].rateLimitItem(d.States[0])
	}
	var buf [128]byte
	b := buf[:0]
	for i, p := range policies {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = appendRateLimitItem(b, p, d.States[i])
	}
	return string(b)
}

// appendRateLimitItem appends one policy's RateLimit list item.
func appendRateLimitItem(b []byte, p *Policy, s State) []byte {
	b = append(b, p.quoted...)
	b = append(b, ";r="...)
	b = strconv.AppendInt(b, s.Remaining, 10)
	if t := nextSeconds(s.Next); t > 0 {
		b = append(b, ";t="...)
		b = strconv.AppendInt(b, t, 10)
	}
	return b
}

// nextSeconds is the RateLimit "t" parameter: whole seconds until one more
// event is free, 0 (no parameter) when the budget is full.
func nextSeconds(next time.Duration) int64 {
	if next <= 0 {
		return 0
	}
	return seconds(next)
}

// resetSeconds holds the last X-RateLimit-Reset value formatted: within
// one second every response that resets then shares it.
var resetSeconds atomic.Pointer[formattedSecond]

type formattedSecond struct {
	epoch int64
	text  string
}

// resetSecond formats an epoch second, reusing the last one formatted.
func resetSecond(epoch int64) string {
	if f := resetSeconds.Load(); f != nil && f.epoch == epoch {
		return f.text
	}
	f := &formattedSecond{epoch, strconv.FormatInt(epoch, 10)}
	resetSeconds.Store(f)
	return f.text
}

// policyList is the RateLimit-Policy field value.
func policyList(policies []*Policy) string {
	if len(policies) == 1 {
		return policies[0].item
	}
	items := make([]string, len(policies))
	for i, p := range policies {
		items[i] = p.item
	}
	return strings.Join(items, ", ")
}

// SetRetryAfter writes Retry-After in seconds (RFC 9110 §10.2.3), rounded
// up so that a client that waits that long finds an event available.
func SetRetryAfter(h http.Header, wait time.Duration) {
	h[headerRetryAfter] = []string{strconv.FormatInt(seconds(wait), 10)}
}

// seconds rounds a duration up to whole seconds, at least 1.
func seconds(d time.Duration) int64 {
	return max(ceilDiv(int64(d), int64(time.Second)), 1)
}

func ceilDiv(a, b int64) int64 { return (a + b - 1) / b }
