package postgres

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/changegate/changegate/docstore"
	"github.com/changegate/changegate/internal/pgtest"
)

// benchRecord returns a record of about 300 bytes, as bolt's benchmarks
// do.
func benchRecord(n int64) *docstore.Object {
	id := fmt.Sprintf("%08d-0000-4000-8000-000000000000", n)
	data := fmt.Sprintf(`{"id":%q,"last_modified":%d,"name":"record %d","tags":["alpha","beta","gamma"],`+
		`"description":"A record of roughly three hundred bytes, about the size of a Remote Settings entry.",`+
		`"enabled":true,"weight":%d,"url":"https://example.com/records/%d"}`, id, n, n, n%97, n)
	return &docstore.Object{ID: id, LastModified: n, Data: []byte(data),
		Permissions: docstore.Permissions{"write": {"account:bench"}}}
}

// benchPuts creates one record per Update from 32 goroutines per CPU,
// spread over collections, each Update taking its collection's ordering
// lock and setting its timestamp as the Store does, with durable commits
// (synchronous_commit on).
func benchPuts(b *testing.B, collections int) {
	e, err := Open(context.Background(), pgtest.Schema(b, fmt.Sprintf("pool_max_conns=%d", DefaultMaxConns)), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	var next, writer atomic.Int64
	b.SetParallelism(32)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		parent := fmt.Sprintf("/buckets/b/collections/c%d", writer.Add(1)%int64(collections))
		for pb.Next() {
			err := e.Update(context.Background(), func(tx docstore.Tx) error {
				prev, _, err := tx.Timestamp(parent, docstore.KindRecord)
				if err != nil {
					return err
				}
				obj := benchRecord(max(prev+1, next.Add(1)))
				if err := tx.SetTimestamp(parent, docstore.KindRecord, obj.LastModified); err != nil {
					return err
				}
				return tx.Put(parent, docstore.KindRecord, obj)
			})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
}

// BenchmarkPutParallel writes into one collection: its writers commit one
// after the other (the ordering lock is held through the commit).
func BenchmarkPutParallel(b *testing.B) { benchPuts(b, 1) }

// BenchmarkPutParallel16 spreads the same writers over 16 collections,
// whose commits overlap and share WAL flushes.
func BenchmarkPutParallel16(b *testing.B) { benchPuts(b, 16) }

// fill stores records with last_modified 1..n in one transaction.
func fill(b *testing.B, e *Engine, n int) {
	b.Helper()
	err := e.Update(context.Background(), func(tx docstore.Tx) error {
		for i := range n {
			if err := tx.Put(coll, docstore.KindRecord, benchRecord(int64(i+1))); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	// What autovacuum does within a minute of a bulk load: without
	// statistics the planner reads a record through Kinto's partial index
	// on parent_id, scanning the whole collection (50× slower).
	if _, err := e.pool.Exec(context.Background(), "ANALYZE"); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkGet reads one record out of 10,000 per View.
func BenchmarkGet(b *testing.B) {
	const n = 10_000
	e, _ := openTest(b)
	fill(b, e, n)
	b.ResetTimer()
	for i := range b.N {
		id := benchRecord(int64((i*7919)%n + 1)).ID
		err := e.View(context.Background(), func(tx docstore.Tx) error {
			_, err := tx.Get(coll, docstore.KindRecord, id)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScanSince100 reads the 100 newest of 10,000 records.
func BenchmarkScanSince100(b *testing.B) {
	const n = 10_000
	e, _ := openTest(b)
	fill(b, e, n)
	b.ResetTimer()
	for range b.N {
		seen := 0
		err := e.View(context.Background(), func(tx docstore.Tx) error {
			seen = 0
			return tx.Scan(coll, docstore.KindRecord, docstore.ScanOptions{Since: n - 100}, func(*docstore.Object) (bool, error) {
				seen++
				return true, nil
			})
		})
		if err != nil || seen != 100 {
			b.Fatalf("scan: %v, %d records; want 100", err, seen)
		}
	}
}
