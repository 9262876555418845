package cache

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// BenchmarkPolicy measures the policy around a 200 answer, against the
// same answer without it.
func BenchmarkPolicy(b *testing.B) {
	p := &Policy{Default: Directives{MaxAge: dur(time.Minute), SMaxAge: dur(5 * time.Minute)},
		Busted: Directives{MaxAge: dur(time.Hour)}, Vary: []string{"Origin"}}
	p.Prepare()
	next := func(w http.ResponseWriter, r *http.Request) error {
		w.WriteHeader(200)
		return nil
	}
	r := httptest.NewRequest("GET", "/v1/buckets/main/collections/c/changeset?_expected=17", nil)
	b.Run("baseline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = next(discard{http.Header{}}, r)
		}
	})
	b.Run("policy", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			_ = p.Serve(discard{http.Header{}}, r, next)
		}
	})
}

// discard is a ResponseWriter that keeps nothing but headers.
type discard struct{ h http.Header }

func (d discard) Header() http.Header         { return d.h }
func (d discard) Write(p []byte) (int, error) { return len(p), nil }
func (d discard) WriteHeader(int)             {}
