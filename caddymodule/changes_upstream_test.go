package caddymodule

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

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
