package enginetest

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/changegate/changegate/docstore"
)

// rollbackFixture stores a small state that failed transactions try to
// change; it returns the sets to dump.
func rollbackFixture(h *harness) []set {
	h.put(collC, kindR, obj("r1", 1), tomb("r2", 2))
	h.put("/buckets/x", kindC, obj("c", 3))
	h.setTimestamps(kindR, map[string]int64{collC: 2})
	h.setTimestamps(kindC, map[string]int64{"/buckets/x": 3})
	return []set{{collC, kindR}, {"/buckets/x", kindC}, {"/buckets/y", kindC}}
}

// writeEverything makes every kind of write over rollbackFixture's state,
// checking that the transaction sees its own writes.
func writeEverything(tx docstore.Tx) error {
	writes := []func() error{
		func() error { return tx.Put(collC, kindR, obj("r3", 10)) },
		func() error { return tx.Put(collC, kindR, obj("r1", 11)) },
		func() error { return tx.Put(collC, kindR, obj("r2", 12)) },
		func() error { return tx.Put("/buckets/y", kindC, obj("c", 13)) },
		func() error { return tx.SetTimestamp(collC, kindR, 13) },
		func() error { return tx.SetTimestamp("/buckets/y", kindC, 13) },
		func() error { return tx.DeleteTree("/buckets/x") },
	}
	for _, w := range writes {
		if err := w(); err != nil {
			return err
		}
	}
	if n, err := tx.Count(collC, kindR); err != nil || n != 3 {
		return fmt.Errorf("count within the transaction: %d, %v; want 3", n, err)
	}
	if o, err := tx.Get(collC, kindR, "r1"); err != nil || o.LastModified != 11 {
		return fmt.Errorf("get within the transaction: %+v, %v; want r1@11", o, err)
	}
	return nil
}

// testRollback: when fn fails, Update returns its error and none of its
// writes remain.
func testRollback(h *harness) {
	sets := rollbackFixture(h)
	before := h.dump(sets, treeKinds)
	failure := errors.New("failure")
	err := h.e.Update(context.Background(), func(tx docstore.Tx) error {
		if err := writeEverything(tx); err != nil {
			return err
		}
		return failure
	})
	if !errors.Is(err, failure) {
		h.Fatalf("Update = %v; want %v", err, failure)
	}
	if after := h.dump(sets, treeKinds); after != before {
		h.Fatalf("failed Update left changes:\n--- before\n%s--- after\n%s", before, after)
	}
	h.update(writeEverything)
	h.assertCount(collC, kindR, 3)
}

// testRollbackPanic: a panicking fn reaches the caller, its writes are
// undone and the engine keeps working.
func testRollbackPanic(h *harness) {
	sets := rollbackFixture(h)
	before := h.dump(sets, treeKinds)
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				h.Fatalf("recovered %v; want the panic of fn", r)
			}
		}()
		h.e.Update(context.Background(), func(tx docstore.Tx) error {
			if err := writeEverything(tx); err != nil {
				return err
			}
			panic("boom")
		})
	}()
	if after := h.dump(sets, treeKinds); after != before {
		h.Fatalf("panicking Update left changes:\n--- before\n%s--- after\n%s", before, after)
	}
	h.update(writeEverything)
}

// testReadOnly: View's write methods fail and change nothing.
func testReadOnly(h *harness) {
	sets := rollbackFixture(h)
	before := h.dump(sets, treeKinds)
	h.view(func(tx docstore.Tx) error {
		if err := tx.Put(collC, kindR, obj("r9", 9)); err == nil {
			h.Errorf("Put in View succeeded")
		}
		if err := tx.Put(collC, kindR, tomb("r1", 9)); err == nil {
			h.Errorf("Put of a tombstone in View succeeded")
		}
		if err := tx.SetTimestamp(collC, kindR, 9); err == nil {
			h.Errorf("SetTimestamp in View succeeded")
		}
		if err := tx.DeleteTree("/buckets/x"); err == nil {
			h.Errorf("DeleteTree in View succeeded")
		}
		return nil
	})
	if after := h.dump(sets, treeKinds); after != before {
		h.Fatalf("View writes left changes:\n--- before\n%s--- after\n%s", before, after)
	}
}

// testCanceledContext: a canceled context fails Update and View before fn.
func testCanceledContext(h *harness) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	fn := func(docstore.Tx) error { called = true; return nil }
	if err := h.e.Update(ctx, fn); !errors.Is(err, context.Canceled) || called {
		h.Fatalf("Update with canceled context = %v, fn called: %t; want context.Canceled, false", err, called)
	}
	if err := h.e.View(ctx, fn); !errors.Is(err, context.Canceled) || called {
		h.Fatalf("View with canceled context = %v, fn called: %t; want context.Canceled, false", err, called)
	}
}

// Concurrency of the concurrent cases: writers × transactions each.
const (
	writers  = 50
	txPerGor = 20
)

// parallel runs fn(g, i) for writers goroutines g and txPerGor calls i
// each, and fails with the first error.
func (h *harness) parallel(fn func(g, i int) error) {
	h.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for g := range writers {
		wg.Go(func() {
			for i := range txPerGor {
				if err := fn(g, i); err != nil {
					errs <- fmt.Errorf("writer %d, transaction %d: %w", g, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		h.Fatal(err)
	}
}

// testConcurrentPuts: every Update of many concurrent writers is kept, and
// concurrent readers see consistent counts.
func testConcurrentPuts(h *harness) {
	done := make(chan struct{})
	readerErr := make(chan error, 1)
	go func() { readerErr <- h.readCounts(done) }()
	h.parallel(func(g, i int) error {
		o := obj(fmt.Sprintf("g%02d-%02d", g, i), int64(1+g*txPerGor+i))
		return h.e.Update(context.Background(), func(tx docstore.Tx) error {
			return tx.Put(collC, kindR, o)
		})
	})
	close(done)
	if err := <-readerErr; err != nil {
		h.Fatal(err)
	}
	h.assertCount(collC, kindR, writers*txPerGor)
	var want []string
	for n := writers*txPerGor - 1; n >= 0; n-- {
		want = append(want, fmt.Sprintf("g%02d-%02d@%d", n/txPerGor, n%txPerGor, n+1))
	}
	h.assertScan(collC, kindR, docstore.ScanOptions{}, want...)
	assertObject(h, h.mustGet(collC, kindR, "g49-19"), obj("g49-19", writers*txPerGor))
}

// readCounts checks, until done, that Count and Scan agree within a View
// and that the count never decreases.
func (h *harness) readCounts(done <-chan struct{}) error {
	last := 0
	for {
		select {
		case <-done:
			return nil
		default:
		}
		err := h.e.View(context.Background(), func(tx docstore.Tx) error {
			n, err := tx.Count(collC, kindR)
			if err != nil {
				return err
			}
			scanned := 0
			err = tx.Scan(collC, kindR, docstore.ScanOptions{}, func(*docstore.Object) (bool, error) {
				scanned++
				return true, nil
			})
			if err == nil && (n != scanned || n < last) {
				err = fmt.Errorf("count %d, scan %d, previous count %d", n, scanned, last)
			}
			last = n
			return err
		})
		if err != nil {
			return fmt.Errorf("concurrent reader: %w", err)
		}
	}
}

// testConcurrentIncrements: concurrent read-modify-write transactions are
// serialised, and the failing ones among them leave nothing, even when
// the engine groups them into shared commits.
func testConcurrentIncrements(h *harness) {
	failure := errors.New("failure")
	h.parallel(func(g, i int) error {
		fails := i%4 == 3
		err := h.e.Update(context.Background(), func(tx docstore.Tx) error {
			n, _, err := tx.Timestamp(collC, kindR)
			if err != nil {
				return err
			}
			if err := tx.SetTimestamp(collC, kindR, n+1); err != nil {
				return err
			}
			if err := tx.Put(collC, kindR, obj(fmt.Sprintf("%t-%02d-%02d", fails, g, i), n+1)); err != nil {
				return err
			}
			if fails {
				return failure
			}
			return nil
		})
		if fails && errors.Is(err, failure) {
			return nil
		}
		return err
	})
	succeeded := writers * txPerGor * 3 / 4
	h.assertTimestamp(collC, kindR, int64(succeeded), true)
	h.assertCount(collC, kindR, succeeded)
	scanned := h.scan(collC, kindR, docstore.ScanOptions{IncludeDeleted: true})
	if len(scanned) != succeeded {
		h.Fatalf("scan yielded %d objects; want %d", len(scanned), succeeded)
	}
	for i, o := range scanned {
		if o.ID[:5] != "false" || o.LastModified != int64(succeeded-i) {
			h.Fatalf("object %d of the scan is %s@%d; want a successful write @%d", i, o.ID, o.LastModified, succeeded-i)
		}
	}
}
