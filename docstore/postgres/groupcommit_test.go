package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/changegate/changegate/docstore"
)

// queued waits until n writes wait in e's queue (callbacks call it: an
// error, not a test failure, when they do not come).
func queued(e *Engine, n int) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		e.commits.mu.Lock()
		got := len(e.commits.queue)
		e.commits.mu.Unlock()
		if got >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d writes queued after 20 s; want %d", got, n)
		}
		time.Sleep(time.Millisecond)
	}
}

// createIn is a write as the Store makes it: the list's timestamp (and
// ordering lock), the next timestamp, the object.
func createIn(tx docstore.Tx, parent, id string) (int64, error) {
	prev, _, err := tx.Timestamp(parent, docstore.KindRecord)
	if err != nil {
		return 0, err
	}
	ts := prev + 1
	if err := tx.SetTimestamp(parent, docstore.KindRecord, ts); err != nil {
		return 0, err
	}
	return ts, tx.Put(parent, docstore.KindRecord, &docstore.Object{ID: id, LastModified: ts, Data: []byte(`{}`)})
}

// TestGroupCommitFailuresAreTheirOwn: writes queued behind a running one
// share its transaction, and each gets its own result: a callback error,
// a unique conflict (returned, or swallowed by the callback), a panic and
// a failing first write roll back alone, the others commit in queue
// order with timestamps of their own.
func TestGroupCommitFailuresAreTheirOwn(t *testing.T) {
	e, _ := openTest(t)
	e.commits.limit, e.commits.size = 1, 64
	ctx := context.Background()
	if err := e.Update(ctx, func(tx docstore.Tx) error { return tx.SetTimestamp(coll, docstore.KindRecord, 1000) }); err != nil {
		t.Fatal(err)
	}
	const n = 20
	boom := errors.New("boom")
	// Writer 1 is the first to commit (timestamp 1001): writers 9 and 13
	// put another object at 1001, a unique conflict.
	conflict := func(tx docstore.Tx) error {
		if _, _, err := tx.Timestamp(coll, docstore.KindRecord); err != nil {
			return err
		}
		return tx.Put(coll, docstore.KindRecord, &docstore.Object{ID: "dup", LastModified: 1001, Data: []byte(`{}`)})
	}
	fns := make([]func(docstore.Tx) error, n)
	for i := range n {
		id := fmt.Sprintf("w%02d", i)
		fns[i] = func(tx docstore.Tx) error {
			_, err := createIn(tx, coll, id)
			return err
		}
	}
	fns[0] = func(tx docstore.Tx) error {
		if _, err := createIn(tx, coll, "w00"); err != nil {
			return err
		}
		if err := queued(e, n-1); err != nil {
			return err
		}
		return boom
	}
	fns[5] = func(tx docstore.Tx) error {
		if _, err := createIn(tx, coll, "w05"); err != nil {
			return err
		}
		return boom
	}
	fns[9] = conflict
	// Writer 10 follows a failed statement with one new to the
	// connection, which pgx prepares first: the failed savepoint must be
	// rolled back by then.
	fns[10] = func(tx docstore.Tx) error {
		if _, err := tx.Count(coll, docstore.KindRecord); err != nil {
			return err
		}
		_, err := createIn(tx, coll, "w10")
		return err
	}
	fns[13] = func(tx docstore.Tx) error {
		conflict(tx)
		return nil
	}
	fns[17] = func(tx docstore.Tx) error {
		createIn(tx, coll, "w17")
		panic("w17 panics")
	}
	errs := make([]error, n)
	panics := make([]any, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			defer func() { panics[i] = recover() }()
			errs[i] = e.Update(ctx, fns[i])
		})
		// One at a time, so that the queue holds them in order (the
		// last one lets writer 0 go on, and the queue drains).
		if i > 0 && i < n-1 {
			if err := queued(e, i); err != nil {
				t.Fatal(err)
			}
		} else {
			time.Sleep(50 * time.Millisecond)
		}
	}
	wg.Wait()

	var pgErr *pgconn.PgError
	for i := range n {
		var ok bool
		switch i {
		case 0, 5:
			ok = errors.Is(errs[i], boom)
		case 9, 13:
			ok = errors.As(errs[i], &pgErr) && pgErr.Code == "23505"
		case 17:
			ok = panics[i] == "w17 panics"
		default:
			ok = errs[i] == nil && panics[i] == nil
		}
		if !ok {
			t.Errorf("writer %d: error %v, panic %v", i, errs[i], panics[i])
		}
	}
	var got []string
	err := e.View(ctx, func(tx docstore.Tx) error {
		got = nil
		return tx.Scan(coll, docstore.KindRecord, docstore.ScanOptions{Ascending: true}, func(o *docstore.Object) (bool, error) {
			got = append(got, fmt.Sprintf("%s@%d", o.ID, o.LastModified))
			return true, nil
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	ts := int64(1000)
	for i := range n {
		if !slices.Contains([]int{0, 5, 9, 13, 17}, i) {
			ts++
			want = append(want, fmt.Sprintf("w%02d@%d", i, ts))
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("records %v;\nwant %v", got, want)
	}
	// The setup, then the batch of writers 1-19; the conflicts' retries
	// commit nothing.
	if c := e.commits.commits.Load(); c != 2 {
		t.Errorf("%d commits; want 2", c)
	}
}

// TestGroupCommitDefersBusyList: a batch holding one list's lock does not
// wait for another's: a write to a list another transaction holds goes to
// a later batch, which waits for it, and the writes behind it commit
// first. Writes to that list stay in commit order.
func TestGroupCommitDefersBusyList(t *testing.T) {
	e, dsn := openTest(t)
	e.commits.limit = 1
	other, err := Open(context.Background(), dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := context.Background()
	x, y := "/buckets/b/collections/x", "/buckets/b/collections/y"
	held, release := make(chan struct{}), make(chan struct{})
	otherDone := make(chan error, 1)
	go func() {
		otherDone <- other.Update(ctx, func(tx docstore.Tx) error {
			if _, err := createIn(tx, x, "other"); err != nil {
				return err
			}
			close(held)
			<-release
			return nil
		})
	}()
	<-held
	run := func(fn func(docstore.Tx) error) chan error {
		done := make(chan error, 1)
		go func() { done <- e.Update(ctx, fn) }()
		return done
	}
	first := run(func(tx docstore.Tx) error {
		if _, err := createIn(tx, y, "y1"); err != nil {
			return err
		}
		return queued(e, 2)
	})
	time.Sleep(50 * time.Millisecond)
	toX := run(func(tx docstore.Tx) error { _, err := createIn(tx, x, "x1"); return err })
	if err := queued(e, 1); err != nil {
		t.Fatal(err)
	}
	toY := run(func(tx docstore.Tx) error { _, err := createIn(tx, y, "y2"); return err })
	// y1 and y2 commit while x stays locked.
	for _, done := range []chan error{first, toY} {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(20 * time.Second):
			t.Fatal("the batch waits for the list another transaction holds")
		}
	}
	close(release)
	for _, done := range []chan error{otherDone, toX} {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if c := e.commits.commits.Load(); c != 2 {
		t.Errorf("%d commits; want 2 (y1 and y2, then x1)", c)
	}
	err = e.View(ctx, func(tx docstore.Tx) error {
		o1, err := tx.Get(x, docstore.KindRecord, "other")
		if err != nil {
			return err
		}
		o2, err := tx.Get(x, docstore.KindRecord, "x1")
		if err != nil {
			return err
		}
		if o2.LastModified <= o1.LastModified {
			t.Errorf("x1 at %d, not after the write that held the list (%d)", o2.LastModified, o1.LastModified)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestGroupCommitHandsOverToHolder: a write whose list another batch of
// the same engine holds joins that batch instead of waiting for its lock
// in a batch of its own.
func TestGroupCommitHandsOverToHolder(t *testing.T) {
	e, _ := openTest(t)
	e.commits.limit = 2
	ctx := context.Background()
	handed := func() error {
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			e.commits.mu.Lock()
			n := 0
			for _, g := range e.commits.holders {
				n = max(n, len(g.inbox))
			}
			e.commits.mu.Unlock()
			if n > 0 {
				return nil
			}
			time.Sleep(time.Millisecond)
		}
		return errors.New("no write handed over in 20 s")
	}
	first := make(chan error, 1)
	go func() {
		first <- e.Update(ctx, func(tx docstore.Tx) error {
			if _, err := createIn(tx, coll, "a"); err != nil {
				return err
			}
			return handed()
		})
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !e.commits.heldByOther(listKey{coll, docstore.KindRecord}, nil) {
		if time.Now().After(deadline) {
			t.Fatal("the first write took no lock in 20 s")
		}
		time.Sleep(time.Millisecond)
	}
	second := e.Update(ctx, func(tx docstore.Tx) error {
		_, err := createIn(tx, coll, "b")
		return err
	})
	if err := <-first; err != nil || second != nil {
		t.Fatalf("first %v, second %v", err, second)
	}
	if c := e.commits.commits.Load(); c != 1 {
		t.Errorf("%d commits; want 1", c)
	}
}

// TestGroupCommitQueueKeepsArrivalOrder: writes a batch hands back return
// to their place by arrival, whatever order they come back in, so the
// oldest waiting write always starts the next batch. Handed-back writes
// used to be stacked in front of the queue: under two instances writing
// 16 collections, the latest handed back kept starting the batches and
// some older writes waited more than 10 s.
func TestGroupCommitQueueKeepsArrivalOrder(t *testing.T) {
	c := &committer{} // limit 0: no runner starts, the queue stays as pushed
	a, b, d, e := &write{}, &write{}, &write{}, &write{}
	c.push(false, a, b, d)
	if c.take(false) != a || c.take(false) != b {
		t.Fatal("take does not follow arrival order")
	}
	c.push(false, e)
	c.push(true, a)
	c.push(true, b)
	name := map[*write]string{a: "a", b: "b", d: "d", e: "e"}
	var got []string
	for w := c.take(false); w != nil; w = c.take(false) {
		got = append(got, name[w])
	}
	if strings.Join(got, "") != "abde" {
		t.Fatalf("queue after hand-backs %v, want [a b d e]", got)
	}
}
