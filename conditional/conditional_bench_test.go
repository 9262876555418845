package conditional

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

var benchDoc = []byte(`{"data":[` + strings.Repeat(`{"id":"record","title":"a title","n":1},`, 24) + `{"id":"last"}]}`)

// sink is a ResponseWriter that discards the body.
type sink struct{ h http.Header }

func (s sink) Header() http.Header         { return s.h }
func (s sink) Write(p []byte) (int, error) { return len(p), nil }
func (s sink) WriteHeader(int)             {}

func answerWith(etag string) func(w http.ResponseWriter, r *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(benchDoc)))
		if etag != "" {
			h.Set("Etag", etag)
		}
		w.WriteHeader(200)
		_, err := w.Write(benchDoc)
		return err
	}
}

// BenchmarkHandler measures the middleware's paths on a 1 KB JSON
// answer: no preconditions, a 304 from the upstream's ETag, a computed
// ETag, a 304 from the computed ETag; "direct" is the answer alone.
func BenchmarkHandler(b *testing.B) {
	h := &Handler{Hash: true, Routes: kintoRoutes}
	hashed := BodyETag(benchDoc)
	for _, bc := range []struct {
		name, target, inm string
		next              func(w http.ResponseWriter, r *http.Request) error
		direct            bool
	}{
		{"direct", "/doc", "", answerWith(`"7"`), true},
		{"etag", "/doc", "", answerWith(`"7"`), false},
		{"etag-304", "/doc", `"7"`, answerWith(`"7"`), false},
		{"kinto-etag", "/v1/buckets/b", "", answerWith(`"1795318542496-gzip"`), false},
		{"hash", "/doc", "", answerWith(""), false},
		{"hash-304", "/doc", hashed, answerWith(""), false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", bc.target, nil)
			if bc.inm != "" {
				r.Header.Set("If-None-Match", bc.inm)
			}
			b.ReportAllocs()
			for b.Loop() {
				w := sink{http.Header{}}
				var err error
				if bc.direct {
					err = bc.next(w, r)
				} else {
					err = h.Serve(w, r, bc.next)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkBodyETag(b *testing.B) {
	b.SetBytes(int64(len(benchDoc)))
	for b.Loop() {
		_ = BodyETag(benchDoc)
	}
}
