package conditional

import (
	"net/http"
	"testing"
	"time"
)

// TestEvaluate covers RFC 9110 §13.1 and §13.2.2 (http.md §1.1-1.5) and
// the origin-side expectations of http-tests/cache-tests
// conditional-etag.mjs and conditional-lm.mjs.
func TestEvaluate(t *testing.T) {
	lm := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	const (
		at     = "Sun, 22 Nov 2026 12:00:00 GMT"
		before = "Sun, 22 Nov 2026 11:59:59 GMT"
		after  = "Sun, 22 Nov 2026 12:00:01 GMT"
	)
	tests := []evaluateCase{
		{"no preconditions", "GET", `"1"`, lm, nil, Proceed},

		// Step 1: If-Match, strong comparison.
		{"if-match equal", "GET", `"1"`, lm, []string{"If-Match", `"1"`}, Proceed},
		{"if-match other", "GET", `"1"`, lm, []string{"If-Match", `"2"`}, Failed},
		{"if-match list", "PUT", `"1"`, lm, []string{"If-Match", `"0", "1"`}, Proceed},
		{"if-match star", "DELETE", `"1"`, lm, []string{"If-Match", `*`}, Proceed},
		{"if-match star without etag", "GET", ``, lm, []string{"If-Match", `*`}, Proceed},
		{"if-match without etag", "GET", ``, lm, []string{"If-Match", `"1"`}, Failed},
		{"if-match weak request tag", "GET", `"1"`, lm, []string{"If-Match", `W/"1"`}, Failed},
		{"if-match weak response tag", "GET", `W/"1"`, lm, []string{"If-Match", `W/"1"`}, Failed},
		{"if-match malformed", "GET", `"1"`, lm, []string{"If-Match", `1`}, Failed},
		{"if-match repeated lines", "GET", `"1"`, lm, []string{"If-Match", `"0"`, "If-Match", `"1"`}, Proceed},
		{"if-match encode suffix", "PUT", `"1"`, lm, []string{"If-Match", `"1-gzip"`}, Proceed},
		{"if-match against encoded etag", "GET", `"1-zstd"`, lm, []string{"If-Match", `"1"`}, Proceed},

		// Step 2: If-Unmodified-Since, only without If-Match.
		{"ius later", "PUT", `"1"`, lm, []string{"If-Unmodified-Since", after}, Proceed},
		{"ius equal", "PUT", `"1"`, lm, []string{"If-Unmodified-Since", at}, Proceed},
		{"ius earlier", "PUT", `"1"`, lm, []string{"If-Unmodified-Since", before}, Failed},
		{"ius invalid date ignored", "PUT", `"1"`, lm, []string{"If-Unmodified-Since", "yesterday"}, Proceed},
		{"ius without last-modified ignored", "PUT", `"1"`, time.Time{}, []string{"If-Unmodified-Since", before}, Proceed},
		{"ius ignored with if-match", "PUT", `"1"`, lm, []string{"If-Match", `"1"`, "If-Unmodified-Since", before}, Proceed},
		{"ius rfc850 date", "PUT", `"1"`, lm, []string{"If-Unmodified-Since", "Sunday, 22-Nov-26 11:59:59 GMT"}, Failed},
		{"ius asctime date", "PUT", `"1"`, lm, []string{"If-Unmodified-Since", "Sun Nov 22 11:59:59 2026"}, Failed},

		// Step 3: If-None-Match, weak comparison.
		{"inm equal", "GET", `"1"`, lm, []string{"If-None-Match", `"1"`}, NotModified},
		{"inm equal head", "HEAD", `"1"`, lm, []string{"If-None-Match", `"1"`}, NotModified},
		{"inm equal put", "PUT", `"1"`, lm, []string{"If-None-Match", `"1"`}, Failed},
		{"inm other", "GET", `"1"`, lm, []string{"If-None-Match", `"2"`}, Proceed},
		{"inm weak request tag", "GET", `"1"`, lm, []string{"If-None-Match", `W/"1"`}, NotModified},
		{"inm weak response tag", "GET", `W/"1"`, lm, []string{"If-None-Match", `"1"`}, NotModified},
		{"inm list", "GET", `"1"`, lm, []string{"If-None-Match", `"a", "1", "b"`}, NotModified},
		{"inm star get", "GET", `"1"`, lm, []string{"If-None-Match", `*`}, NotModified},
		{"inm star put (create-only)", "PUT", `"1"`, lm, []string{"If-None-Match", `*`}, Failed},
		{"inm without etag", "GET", ``, lm, []string{"If-None-Match", `"1"`}, Proceed},
		{"inm unquoted is not a tag", "GET", `"1"`, lm, []string{"If-None-Match", `1`}, Proceed},
		{"inm encode suffix", "GET", `"1"`, lm, []string{"If-None-Match", `"1-gzip"`}, NotModified},
		{"inm against encoded etag", "GET", `"1-gzip"`, lm, []string{"If-None-Match", `"1"`}, NotModified},
		// conditional-etag-precedence: If-None-Match wins over
		// If-Modified-Since.
		{"inm overrides ims", "GET", `"1"`, lm, []string{"If-None-Match", `"2"`, "If-Modified-Since", after}, Proceed},
		// A failed If-Match (412) comes before a matching If-None-Match
		// (304).
		{"if-match before inm", "GET", `"1"`, lm, []string{"If-Match", `"2"`, "If-None-Match", `"1"`}, Failed},

		// Step 4: If-Modified-Since, GET and HEAD only.
		{"ims equal", "GET", `"1"`, lm, []string{"If-Modified-Since", at}, NotModified},
		{"ims later", "GET", `"1"`, lm, []string{"If-Modified-Since", after}, NotModified},
		{"ims earlier", "GET", `"1"`, lm, []string{"If-Modified-Since", before}, Proceed},
		{"ims sub-second last-modified", "GET", `"1"`, lm.Add(500 * time.Millisecond), []string{"If-Modified-Since", at}, NotModified},
		{"ims invalid date ignored", "GET", `"1"`, lm, []string{"If-Modified-Since", "0"}, Proceed},
		{"ims two lines ignored", "GET", `"1"`, lm, []string{"If-Modified-Since", at, "If-Modified-Since", after}, Proceed},
		{"ims on post ignored", "POST", `"1"`, lm, []string{"If-Modified-Since", after}, Proceed},
		{"ims without last-modified ignored", "GET", `"1"`, time.Time{}, []string{"If-Modified-Since", after}, Proceed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := http.Header{}
			if tt.etag != "" {
				resp.Set("ETag", tt.etag)
			}
			if !tt.lm.IsZero() {
				resp.Set("Last-Modified", tt.lm.Format(http.TimeFormat))
				if tt.lm.Nanosecond() != 0 {
					// Last-Modified has one-second resolution on the
					// wire; check the truncation with a precise value.
					v := ValidatorsOf(resp)
					v.LastModified = tt.lm
					tt.check(t, v)
					return
				}
			}
			tt.check(t, ValidatorsOf(resp))
		})
	}
}

// evaluateCase is one precondition scenario: the request method and
// headers (name, value pairs), the response's validators, the outcome.
type evaluateCase struct {
	name   string
	method string
	etag   string
	lm     time.Time
	header []string
	want   Outcome
}

func (tt evaluateCase) check(t *testing.T, v Validators) {
	t.Helper()
	req := http.Header{}
	for i := 0; i < len(tt.header); i += 2 {
		req.Add(tt.header[i], tt.header[i+1])
	}
	if got := Evaluate(tt.method, req, v); got != tt.want {
		t.Fatalf("Evaluate(%s, %v) = %v, want %v", tt.method, tt.header, got, tt.want)
	}
}
