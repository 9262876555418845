package postgres

import (
	"context"
	"testing"
	"time"
)

// TestOrderTriggerWaitsForTheListLock: a plain SQL insert into a list
// waits while another transaction holds that list's ordering lock (as a
// changegate write does from its timestamp read to its commit), and does
// not wait for another list's.
func TestOrderTriggerWaitsForTheListLock(t *testing.T) {
	_, dsn := openTest(t)
	ctx := context.Background()
	holder, writer := sqlConn(t, dsn), sqlConn(t, dsn)
	if _, err := holder.Exec(ctx, "BEGIN"); err != nil {
		t.Fatal(err)
	}
	if _, err := holder.Exec(ctx, lockListSQL, coll, "record"); err != nil {
		t.Fatal(err)
	}
	insert := func(parent, id string) time.Duration {
		start := time.Now()
		if _, err := writer.Exec(ctx, `INSERT INTO objects (id, parent_id, resource_name, last_modified, data, deleted)
			VALUES ($1, $2, 'record', NULL, '{}', FALSE)`, id, parent); err != nil {
			t.Fatal(err)
		}
		return time.Since(start)
	}
	if d := insert("/buckets/b/collections/other", "r1"); d > 150*time.Millisecond {
		t.Fatalf("an insert into another list took %v", d)
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		holder.Exec(ctx, "COMMIT")
	}()
	if d := insert(coll, "r2"); d < 250*time.Millisecond {
		t.Fatalf("an insert into the locked list took %v; want it to wait for the lock's commit", d)
	}
}
