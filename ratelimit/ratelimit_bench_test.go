package ratelimit

import (
	"context"
	"net/http"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// benchLimit never refuses, so that every decision writes.
var benchLimit = Limit{Events: 1_000_000, Window: time.Second}

// BenchmarkMemoryTake: one decision, one key for all goroutines (the
// worst case for the lock) or a key per request among 10,000.
func BenchmarkMemoryTake(b *testing.B) {
	for _, keys := range []int{1, 10_000} {
		b.Run("keys-"+strconv.Itoa(keys), func(b *testing.B) {
			m := NewMemory(100_000, SystemClock{})
			names := benchKeys(keys)
			var n atomic.Uint64
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				var d Decision
				hits := make([]Hit, 1)
				for pb.Next() {
					hits[0] = Hit{names[n.Add(1)%uint64(keys)], benchLimit}
					if err := m.Take(context.Background(), hits, &d); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// BenchmarkRedisTake: one script round trip per decision, through a plain
// client (a connection per concurrent request) and through go-redis'
// blocking autopipeliner (concurrent requests' scripts share writes).
func BenchmarkRedisTake(b *testing.B) {
	c := testRedis(b)
	prefix := testPrefix(b, c)
	ap, err := c.AutoPipeline()
	if err != nil {
		b.Fatal(err)
	}
	defer ap.Close()
	for _, tc := range []struct {
		name   string
		client redis.Scripter
	}{{"client", c}, {"autopipeline", ap}} {
		for _, par := range []int{1, 16} {
			b.Run(tc.name+"/goroutines-per-cpu-"+strconv.Itoa(par), func(b *testing.B) {
				s := NewRedis(tc.client, prefix, nil)
				names := benchKeys(10_000)
				var n atomic.Uint64
				b.SetParallelism(par)
				b.ReportAllocs()
				b.RunParallel(func(pb *testing.PB) {
					var d Decision
					for pb.Next() {
						k := names[n.Add(1)%uint64(len(names))]
						if err := s.Take(context.Background(), []Hit{{k, benchLimit}}, &d); err != nil {
							b.Fatal(err)
						}
					}
				})
			})
		}
	}
}

// BenchmarkSetHeaders: the five fields of a one-zone decision.
func BenchmarkSetHeaders(b *testing.B) {
	z, err := NewZone("api", &Limit{Events: 600, Window: time.Minute}, nil)
	if err != nil {
		b.Fatal(err)
	}
	p := z.Policy("GET")
	m := NewMemory(10, SystemClock{})
	var d Decision
	_ = m.Take(context.Background(), []Hit{p.Hit("1:", "a")}, &d)
	policies := []*Policy{p}
	h := http.Header{}
	b.ReportAllocs()
	for b.Loop() {
		SetHeaders(h, d, policies, true)
	}
}

func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "api:*:1:10.0." + strconv.Itoa(i/256) + "." + strconv.Itoa(i%256)
	}
	return keys
}
