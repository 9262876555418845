package ratelimit

import (
	"net/http"
	"strconv"
	"strings"
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
func SetHeaders(h http.Header, d Decision, policies []*Policy, ietf bool) {
	i := d.Tightest()
	s := d.States[i]
	// The numbers are written into one buffer and the fields are slices of
	// one string and of one []string: two allocations per response.
	var buf [256]byte
	b := append(buf[:0], policies[i].events...)
	b = strconv.AppendInt(b, s.Remaining, 10)
	ends := [4]int{len(policies[i].events), len(b)}
	b = strconv.AppendInt(b, ceilDiv(d.Now.UnixMicro()+s.Reset.Microseconds(), 1e6), 10)
	ends[2] = len(b)
	if ietf {
		b = appendRateLimit(b, d, policies)
		ends[3] = len(b)
	}
	str := string(b)
	vals := make([]string, 5)
	vals[0], vals[1], vals[2] = str[:ends[0]], str[ends[0]:ends[1]], str[ends[1]:ends[2]]
	h[headerLimit], h[headerRemaining], h[headerReset] = vals[0:1:1], vals[1:2:2], vals[2:3:3]
	if !ietf {
		return
	}
	vals[3], vals[4] = policyList(policies), str[ends[2]:ends[3]]
	h[headerPolicy], h[headerRateLimit] = vals[3:4:4], vals[4:5:5]
}

// appendRateLimit appends the RateLimit field value: one item per policy.
func appendRateLimit(b []byte, d Decision, policies []*Policy) []byte {
	for i, p := range policies {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, p.quoted...)
		b = append(b, ";r="...)
		b = strconv.AppendInt(b, d.States[i].Remaining, 10)
		if next := d.States[i].Next; next > 0 {
			b = append(b, ";t="...)
			b = strconv.AppendInt(b, seconds(next), 10)
		}
	}
	return b
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
