package changes

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/changegate/changegate/docstore"
	"github.com/changegate/changegate/docstore/bolt"
	"github.com/changegate/changegate/internal/handlertest"
	"github.com/changegate/changegate/kinto"
)

// benchFixture is the endpoints over a bbolt docstore, as in production.
func benchFixture(b *testing.B, cfg Config) *fixture {
	b.Helper()
	engine, err := bolt.Open(filepath.Join(b.TempDir(), "bench.db"), bolt.Options{Timeout: time.Second})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = engine.Close() })
	return newFixtureOn(b, engine, cfg)
}

// batch writes POST /v1/batch bodies of up to 25 requests.
func (f *fixture) batch(requests []string) {
	for len(requests) > 0 {
		n := min(25, len(requests))
		f.ok("POST", "/v1/batch", `{"requests":[`+strings.Join(requests[:n], ",")+`]}`)
		requests = requests[n:]
	}
}

// seedBig creates cs/big with n records of about 100 bytes.
func seedBig(f *fixture, n int) {
	f.ok("PUT", "/v1/buckets/cs", "{}")
	f.ok("PUT", "/v1/buckets/cs/collections/big", "{}")
	reqs := make([]string, n)
	for i := range reqs {
		reqs[i] = fmt.Sprintf(`{"method":"POST","path":"/buckets/cs/collections/big/records","body":{"data":{"n":%d,"pad":"xxxxxxxxxxxxxxxxxxxxxx"}}}`, i)
	}
	f.batch(reqs)
}

// serve runs one request b.N times in parallel.
func serve(b *testing.B, h *Handler, target string) {
	r := httptest.NewRequest("GET", target, nil)
	w := &handlertest.Discard{H: http.Header{}}
	handlertest.Answers(h, w, r)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := &handlertest.Discard{H: http.Header{}}
		for pb.Next() {
			clear(w.H)
			handlertest.Answers(h, w, r)
		}
	})
}

// BenchmarkMonitorChangeset1000 serves the monitor changeset over 1,000
// monitored collections (issue 4's first workload).
func BenchmarkMonitorChangeset1000(b *testing.B) {
	f := benchFixture(b, monitored(DefaultConfig(), "/buckets/bench"))
	f.ok("PUT", "/v1/buckets/bench", "{}")
	var reqs []string
	for i := range 1000 {
		reqs = append(reqs,
			fmt.Sprintf(`{"method":"PUT","path":"/buckets/bench/collections/c%04d","body":{}}`, i),
			fmt.Sprintf(`{"method":"POST","path":"/buckets/bench/collections/c%04d/records","body":{"data":{}}}`, i))
	}
	f.batch(reqs)
	serve(b, f.h, "/v1/buckets/monitor/collections/changes/changeset?_expected=0")
}

// BenchmarkMonitorChangeset1000User is BenchmarkMonitorChangeset1000
// for identified callers: the shared view filtered by one read that
// checks every collection, kept per principal set.
func BenchmarkMonitorChangeset1000User(b *testing.B) {
	f := benchFixture(b, monitored(DefaultConfig(), "/buckets/bench"))
	f.ok("PUT", "/v1/buckets/bench", "{}")
	var reqs []string
	for i := range 1000 {
		reqs = append(reqs,
			fmt.Sprintf(`{"method":"PUT","path":"/buckets/bench/collections/c%04d","body":{}}`, i),
			fmt.Sprintf(`{"method":"POST","path":"/buckets/bench/collections/c%04d/records","body":{"data":{}}}`, i))
	}
	f.batch(reqs)
	target := "/v1/buckets/monitor/collections/changes/changeset?_expected=0"
	b.Run("same user", func(b *testing.B) {
		r := httptest.NewRequest("GET", target, nil)
		r = r.WithContext(docstore.WithUser(r.Context(), "account:bench"))
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			w := &handlertest.Discard{H: http.Header{}}
			for pb.Next() {
				clear(w.H)
				handlertest.Answers(f.h, w, r)
			}
		})
	})
	b.Run("new user each time", func(b *testing.B) {
		b.ReportAllocs()
		w := &handlertest.Discard{H: http.Header{}}
		for i := range b.N {
			r := httptest.NewRequest("GET", target, nil)
			r = r.WithContext(docstore.WithUser(r.Context(), fmt.Sprint("account:", i)))
			clear(w.H)
			handlertest.Answers(f.h, w, r)
		}
	})
}

// BenchmarkChangesetCached10k serves a 10,000-record (~1 MB) changeset
// from the cache and reports the cache hit rate.
func BenchmarkChangesetCached10k(b *testing.B) {
	f := benchFixture(b, DefaultConfig())
	seedBig(f, 10000)
	serve(b, f.h, "/v1/buckets/cs/collections/big/changeset?_expected=1")
	b.ReportMetric(f.state.CacheStats().HitRate(), "hit-rate")
}

// BenchmarkChangesetAfterWrite writes a record then serves the first
// changeset after it: a cache miss (one read and render of 10,000
// records).
func BenchmarkChangesetAfterWrite(b *testing.B) {
	f := benchFixture(b, DefaultConfig())
	seedBig(f, 10000)
	r := httptest.NewRequest("GET", "/v1/buckets/cs/collections/big/changeset?_expected=1", nil)
	w := &handlertest.Discard{H: http.Header{}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		f.ok("POST", "/v1/buckets/cs/collections/big/records", fmt.Sprintf(`{"data":{"w":%d}}`, i))
		b.StartTimer()
		clear(w.H)
		handlertest.Answers(f.h, w, r)
	}
	b.StopTimer()
	if st := f.state.CacheStats(); st.Hits != 0 {
		b.Fatalf("a hit after a write: %+v", st)
	}
}

// BenchmarkChangesetRead10k is the storage read alone, for comparison.
func BenchmarkChangesetRead10k(b *testing.B) {
	f := benchFixture(b, DefaultConfig())
	seedBig(f, 10000)
	src := docstore.ChangeSource{Store: f.store}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := src.Changeset(context.Background(), kinto.Key{Bucket: "cs", Collection: "big"}, 0, 10000); err != nil {
			b.Fatal(err)
		}
	}
}
