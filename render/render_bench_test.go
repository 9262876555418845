package render

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/changegate/changegate/internal/recorder"
)

// benchDoc is a 1 KB JSON document, the size the issue benchmarks.
var benchDoc = func() []byte {
	var b strings.Builder
	b.WriteString(`{"data":[`)
	for i := 0; b.Len() < 1000; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"record-%03d","title":"Title %d","n":%d,"ok":true}`, i, i, i)
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}()

// sink is a ResponseWriter that discards the body.
type sink struct{ h http.Header }

func (s sink) Header() http.Header         { return s.h }
func (s sink) Write(p []byte) (int, error) { return len(p), nil }
func (s sink) WriteHeader(int)             {}

func jsonNext(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(benchDoc)))
	w.WriteHeader(200)
	_, err := w.Write(benchDoc)
	return err
}

// BenchmarkTransforms compares the middlewares with one extra copy of
// the body (what the issue allows them): "copy" holds the body in a
// pooled buffer and writes it out, as a Recorder does; "pretty" and
// "jsonp" do that plus their transform.
func BenchmarkTransforms(b *testing.B) {
	pretty := &Pretty{}
	jsonp := &JSONP{}
	copyOnce := func(w http.ResponseWriter, r *http.Request) error {
		rec := recorder.New(w, DefaultMaxBuffer, holdTransformable(w.Header()))
		if err := jsonNext(rec, r); err != nil || !rec.Held() {
			return err
		}
		return rec.Finish(rec.Status(), rec.Body())
	}
	for _, bc := range []struct {
		name, target string
		serve        func(w http.ResponseWriter, r *http.Request) error
	}{
		{"direct", "/", jsonNext},
		{"copy", "/", copyOnce},
		{"pretty-not-asked", "/", func(w http.ResponseWriter, r *http.Request) error { return pretty.Serve(w, r, jsonNext) }},
		{"pretty", "/?pretty", func(w http.ResponseWriter, r *http.Request) error { return pretty.Serve(w, r, jsonNext) }},
		{"jsonp", "/?callback=cb", func(w http.ResponseWriter, r *http.Request) error { return jsonp.Serve(w, r, jsonNext) }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			r := httptest.NewRequest("GET", bc.target, nil)
			b.SetBytes(int64(len(benchDoc)))
			b.ReportAllocs()
			for b.Loop() {
				if err := bc.serve(sink{http.Header{}}, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkWrapJSONP is the JSONP transform alone, next to a plain copy.
func BenchmarkWrapJSONP(b *testing.B) {
	var out bytes.Buffer
	b.Run("copy", func(b *testing.B) {
		b.SetBytes(int64(len(benchDoc)))
		for b.Loop() {
			out.Reset()
			out.Write(benchDoc)
		}
	})
	b.Run("wrap", func(b *testing.B) {
		b.SetBytes(int64(len(benchDoc)))
		for b.Loop() {
			out.Reset()
			WrapJSONP(&out, "cb", benchDoc)
		}
	})
}
