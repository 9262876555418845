package integration

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/changegate/changegate/internal/pgtest"
)

// TestPostgresSQLWritersOrdered: writers that do not go through
// changegate (plain SQL INSERTs, as Kinto's storage backend writes, with
// Kinto's bump_timestamp choosing the timestamp) and writers through two
// changegate instances fill one collection at once; followers on both
// instances (records _since, collection changeset _since, _changes
// longpoll) see every acknowledged write exactly once. Each SQL writer
// waits 5 ms between its INSERT and its COMMIT, as a Kinto request does
// between its statements, which is when a write that chose its timestamp
// later can commit first: without trigger changegate_objects_order the
// followers miss writes.
func TestPostgresSQLWritersOrdered(t *testing.T) {
	dsn := pgtest.Schema(t, "pool_max_conns=8")
	a, b := startPairOn(t, dsn)
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()

	stop := followAll(t, a, b)
	const writers, each = 4, 20
	var writes atomic.Int64
	var wwg sync.WaitGroup
	for w := range writers {
		wwg.Go(func() {
			for n := range each {
				id := fmt.Sprintf("sql-w%d-n%d", w, n)
				if err := sqlInsert(pool, id); err != nil {
					t.Errorf("INSERT %s: %v", id, err)
					return
				}
				writes.Add(1)
			}
		})
		for i, v1 := range []string{a, b} {
			wwg.Go(func() { putRecords(t, v1, fmt.Sprintf("i%d-w%d", i, w), each, time.Time{}, &writes) })
		}
	}
	wwg.Wait()
	results := stop()
	want := int(writes.Load())
	t.Logf("%d acknowledged writes: %d by SQL, the rest through 2 instances", want, writers*each)
	expectEachOnce(t, results, want)
}

// sqlInsert creates record id of main/c as Kinto does: last_modified
// left to bump_timestamp, then 5 ms of other work before the commit.
func sqlInsert(pool *pgxpool.Pool, id string) error {
	return pgx.BeginFunc(context.Background(), pool, func(tx pgx.Tx) error {
		_, err := tx.Exec(context.Background(), `INSERT INTO objects (id, parent_id, resource_name, last_modified, data, deleted)
			VALUES ($1, '/buckets/main/collections/c', 'record', NULL, '{}', FALSE)`, id)
		if err == nil {
			_, err = tx.Exec(context.Background(), "SELECT pg_sleep(0.005)")
		}
		return err
	})
}
