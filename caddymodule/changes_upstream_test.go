package caddymodule

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// TestObservingWriter: the answer goes through untouched; with a
// Content-Length it is observed before its last bytes are written (read
// your writes), and a body beyond the bound is marked truncated.
func TestObservingWriter(t *testing.T) {
	for _, tc := range []struct {
		name      string
		max       int64
		length    bool
		truncated bool
	}{
		{"with length", 1 << 10, true, false},
		{"chunked", 1 << 10, false, false},
		{"too long", 8, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			ow := &observingWriter{ResponseWriterWrapper: &caddyhttp.ResponseWriterWrapper{ResponseWriter: rec}, max: tc.max, length: -1}
			var seen string
			ow.observe = func() { seen = rec.Body.String() }
			body := `{"data":{"id":"r","last_modified":42}}`
			if tc.length {
				ow.Header().Set("Content-Length", "38")
			}
			ow.WriteHeader(http.StatusCreated)
			if _, err := ow.ReadFrom(strings.NewReader(body)); err != nil {
				t.Fatal(err)
			}
			ow.done()
			if rec.Code != 201 || rec.Body.String() != body {
				t.Fatalf("client got %d %q", rec.Code, rec.Body.String())
			}
			if want := ""; tc.length && seen != want {
				t.Fatalf("observed after %q was written, want before the body", seen)
			}
			if !tc.length && seen != body {
				t.Fatalf("observed after %q, want at the end", seen)
			}
			if ow.truncated != tc.truncated || (!tc.truncated && string(ow.body) != body) {
				t.Fatalf("kept %q, truncated %t", ow.body, ow.truncated)
			}
		})
	}
}

// BenchmarkSidecarPassThrough measures what the sidecar adds to a request
// it passes to reverse_proxy (a record GET: a path check, nothing
// observed), against calling the next handler directly.
func BenchmarkSidecarPassThrough(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"1"`)
		w.Write([]byte(`{"data":[]}`))
	}))
	defer up.Close()
	c := &Changes{Upstream: &ChangesUpstream{URL: up.URL + "/v1"}, Resources: []string{"/buckets/main"}}
	c.live = &changesLive{}
	c.cfg = c.config()
	if err := c.provisionUpstream(); err != nil {
		b.Fatal(err)
	}
	defer c.Cleanup()
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		w.WriteHeader(http.StatusOK)
		return nil
	})
	r := httptest.NewRequest("GET", "/v1/buckets/main/collections/c/records/r1", nil)
	w := httptest.NewRecorder()
	b.Run("next-only", func(b *testing.B) {
		for b.Loop() {
			_ = next.ServeHTTP(w, r)
		}
	})
	b.Run("sidecar", func(b *testing.B) {
		for b.Loop() {
			_ = c.ServeHTTP(w, r, next)
		}
	})
}
