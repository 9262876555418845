package ratelimit

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"

	"go.uber.org/zap"
)

// BenchmarkMiddleware is the middleware's cost per request on the memory
// store, without Caddy (the next handler does nothing): one client key
// for all requests, or 10,000 keys from a request header.
func BenchmarkMiddleware(b *testing.B) {
	for _, keys := range []int{1, 10_000} {
		b.Run("keys-"+strconv.Itoa(keys), func(b *testing.B) {
			zone, err := NewZone("bench", &benchLimit, nil)
			if err != nil {
				b.Fatal(err)
			}
			m := &Middleware{
				Rules:       []Rule{{Zone: zone, Keys: []func(*http.Request) (string, bool){headerKey("X-Client")}}},
				Store:       NewMemory(100_000, SystemClock{}),
				IETFHeaders: true,
				Logger:      zap.NewNop(),
			}
			clients := benchKeys(keys)
			next := func(http.ResponseWriter, *http.Request) error { return nil }
			var n atomic.Uint64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				w := httptest.NewRecorder()
				r := httptest.NewRequest("GET", "/", nil)
				for pb.Next() {
					r.Header.Set("X-Client", clients[n.Add(1)%uint64(keys)])
					clear(w.Header())
					if err := m.Serve(w, r, next); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
