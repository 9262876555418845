package bolt

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/changegate/changegate/docstore"
)

// benchWriters is how many goroutines per CPU the parallel benchmarks run:
// a server has many requests in flight, not one per CPU.
const benchWriters = 32

const benchParent = "/buckets/b/collections/c"

// benchRecord returns a record of about 300 bytes.
func benchRecord(n int64) *docstore.Object {
	id := fmt.Sprintf("%08d-0000-4000-8000-000000000000", n)
	data := fmt.Sprintf(`{"id":%q,"last_modified":%d,"name":"record %d","tags":["alpha","beta","gamma"],`+
		`"description":"A record of roughly three hundred bytes, about the size of a Remote Settings entry.",`+
		`"enabled":true,"weight":%d,"url":"https://example.com/records/%d"}`, id, n, n, n%97, n)
	return &docstore.Object{ID: id, LastModified: n, Data: []byte(data),
		Permissions: docstore.Permissions{"write": {"account:bench"}}}
}

func openBench(b *testing.B, noSync bool) *Engine {
	b.Helper()
	e, err := Open(filepath.Join(b.TempDir(), "bench.db"), Options{NoSync: noSync})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	return e
}

// benchPutParallel creates one record per Update from many goroutines.
func benchPutParallel(b *testing.B, noSync bool) {
	e := openBench(b, noSync)
	var next atomic.Int64
	b.SetParallelism(benchWriters)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			obj := benchRecord(next.Add(1))
			err := e.Update(context.Background(), func(tx docstore.Tx) error {
				return tx.Put(benchParent, docstore.KindRecord, obj)
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
}

// BenchmarkPutParallel measures durable (fsynced) creations with group
// commit.
func BenchmarkPutParallel(b *testing.B) { benchPutParallel(b, false) }

// BenchmarkPutParallelNoSync is BenchmarkPutParallel without fsync: the
// difference is what durability costs.
func BenchmarkPutParallelNoSync(b *testing.B) { benchPutParallel(b, true) }

// BenchmarkPutSerial measures durable creations by a single client, which
// commit alone (one fsync each) instead of waiting for a batch.
func BenchmarkPutSerial(b *testing.B) {
	e := openBench(b, false)
	b.ResetTimer()
	for i := range b.N {
		obj := benchRecord(int64(i + 1))
		err := e.Update(context.Background(), func(tx docstore.Tx) error {
			return tx.Put(benchParent, docstore.KindRecord, obj)
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
}

// BenchmarkUpdateNoSync replaces 50 of 1,000 records per transaction,
// without fsync: what a replacing Put costs (it reads the generation it
// replaces).
func BenchmarkUpdateNoSync(b *testing.B) {
	e := openBench(b, true)
	fillBench(b, e, 1000)
	b.ResetTimer()
	for i := range b.N {
		err := e.Update(context.Background(), func(tx docstore.Tx) error {
			for j := range 50 {
				n := i*50 + j
				obj := benchRecord(int64(n%1000 + 1))
				obj.LastModified = int64(2000 + n)
				if err := tx.Put(benchParent, docstore.KindRecord, obj); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// fillBench stores records with last_modified 1..n in one transaction.
func fillBench(b *testing.B, e *Engine, n int) {
	b.Helper()
	err := e.Update(context.Background(), func(tx docstore.Tx) error {
		for i := range n {
			if err := tx.Put(benchParent, docstore.KindRecord, benchRecord(int64(i+1))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkGet reads one record out of 10,000 per View.
func BenchmarkGet(b *testing.B) {
	const n = 10_000
	e := openBench(b, true)
	fillBench(b, e, n)
	ids := make([]string, n)
	for i := range ids {
		ids[i] = benchRecord(int64(i + 1)).ID
	}
	b.ResetTimer()
	for i := range b.N {
		err := e.View(context.Background(), func(tx docstore.Tx) error {
			_, err := tx.Get(benchParent, docstore.KindRecord, ids[(i*7919)%n])
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScanSince100 reads the 100 newest of 10,000 records, as a
// client polling with _since does.
func BenchmarkScanSince100(b *testing.B) {
	const n = 10_000
	e := openBench(b, true)
	fillBench(b, e, n)
	b.ResetTimer()
	for range b.N {
		seen := 0
		err := e.View(context.Background(), func(tx docstore.Tx) error {
			seen = 0
			return tx.Scan(benchParent, docstore.KindRecord, docstore.ScanOptions{Since: n - 100}, func(*docstore.Object) (bool, error) {
				seen++
				return true, nil
			})
		})
		if err != nil || seen != 100 {
			b.Fatalf("scan: %v, %d records; want 100", err, seen)
		}
	}
}
