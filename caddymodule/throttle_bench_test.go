package caddymodule

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// BenchmarkThrottleServeHTTP is the handler's cost per request on the
// memory store (the next handler does nothing): one client key for all
// requests, or 10,000 keys from a request header. "no-throttle" builds the
// same requests and calls the next handler directly: subtract it.
func BenchmarkThrottleServeHTTP(b *testing.B) {
	for _, tc := range []struct {
		name string
		key  []string
		keys int
	}{
		{"no-throttle", nil, 1},
		{"default-key", nil, 1},
		{"header-key-10k", []string{"{http.request.header.X-Client}"}, 10_000},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
			defer cancel()
			h := &Throttle{Zones: map[string]*ThrottleZone{"bench": {
				Key: tc.key, Events: 1_000_000, Window: caddy.Duration(time.Second),
			}}}
			if err := h.Provision(ctx); err != nil {
				b.Fatal(err)
			}
			defer h.Cleanup()
			clients := make([]string, tc.keys)
			for i := range clients {
				clients[i] = "client-" + strconv.Itoa(i)
			}
			next := caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error { return nil })
			var n atomic.Uint64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				w := httptest.NewRecorder()
				for pb.Next() {
					r := httptest.NewRequest("GET", "/", nil)
					r.RemoteAddr = "10.0.0.1:1234"
					r.Header.Set("X-Client", clients[n.Add(1)%uint64(len(clients))])
					repl := caddy.NewReplacer()
					r = caddyhttp.PrepareRequest(r, repl, w, nil)
					caddyhttp.SetVar(r.Context(), caddyhttp.ClientIPVarKey, "10.0.0.1")
					clear(w.Header())
					serve := h.ServeHTTP
					if tc.name == "no-throttle" {
						serve = func(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
							return next.ServeHTTP(w, r)
						}
					}
					if err := serve(w, r, next); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}
