package integration

import (
	"strings"
	"testing"

	"github.com/changegate/changegate/internal/testserver"
)

// TestThrottleExposedThroughDocstore: a browser on another origin may
// read both the docstore's fields (ETag...) and throttle's rate-limit
// fields on a successful answer.
func TestThrottleExposedThroughDocstore(t *testing.T) {
	cfg := strings.Replace(standalone, "\tdocstore {", "\tthrottle {\n\t\tzone api {\n\t\t\tevents 100\n\t\t\twindow 1m\n\t\t}\n\t}\n\tdocstore {", 1)
	s := testserver.Start(t, cfg)
	r := do(t, "GET", s.URL()+"/v1/buckets", "", "Origin: https://app.example").expectStatus(t, 200).
		expectHeader(t, "X-RateLimit-Limit", "100").
		expectHeader(t, "Access-Control-Allow-Origin", "*")
	want := exposePluralRead + ", X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, RateLimit, RateLimit-Policy"
	r.expectHeader(t, "Access-Control-Expose-Headers", want)
	// Without an Origin nothing is added to the docstore's own list.
	do(t, "GET", s.URL()+"/v1/buckets", "").expectHeader(t, "Access-Control-Expose-Headers", exposePluralRead)
}
