package postgres

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/changegate/changegate/docstore"
	"github.com/changegate/changegate/kinto"
)

// listening starts a's listener, gathering what it publishes, and waits
// until it relays.
func listening(t *testing.T, a *Engine) (seen func() []kinto.Event) {
	t.Helper()
	var mu sync.Mutex
	var events []kinto.Event
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go a.Listen(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), func(evs []kinto.Event) {
		mu.Lock()
		events = append(events, evs...)
		mu.Unlock()
	})
	seen = func() []kinto.Event {
		mu.Lock()
		defer mu.Unlock()
		return slices.Clone(events)
	}
	deadline := time.Now().Add(5 * time.Second)
	for !a.barrier.isStarted() || a.Sync(context.Background()) != nil {
		if time.Now().After(deadline) {
			t.Fatal("the listener never relayed a barrier")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return seen
}

// openPeer opens another engine on the schema of dsn, as another
// instance would.
func openPeer(t *testing.T, dsn string) *Engine {
	t.Helper()
	e, err := Open(context.Background(), dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// TestSyncWithoutListener: with no listener there is nothing to wait for.
func TestSyncWithoutListener(t *testing.T) {
	a, _ := openTest(t)
	if err := a.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// TestSyncPublishesEarlierWrites: once Sync returns, the write another
// engine committed just before has been published, every time.
func TestSyncPublishesEarlierWrites(t *testing.T) {
	a, dsn := openTest(t)
	b := openPeer(t, dsn)
	seen := listening(t, a)
	for lm := int64(1000); lm < 1050; lm++ {
		put(t, b, coll, docstore.KindRecord, &docstore.Object{ID: "r", LastModified: lm, Data: json.RawMessage(`{}`)})
		if err := a.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
		if events := seen(); len(events) == 0 || events[len(events)-1].Timestamp != lm {
			t.Fatalf("after Sync the listener had published %d events (%+v); want the last to be the write at %d", len(events), events, lm)
		}
	}
}

// TestSyncSharesRounds: many concurrent callers share a few barrier
// notifications.
func TestSyncSharesRounds(t *testing.T) {
	a, _ := openTest(t)
	listening(t, a)
	before := a.barrier.count()
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			if err := a.Sync(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if n := a.barrier.count() - before; n < 1 || n > 100 {
		t.Fatalf("200 concurrent Syncs ran %d barrier statements; want between 1 and 100", n)
	}
	t.Logf("200 concurrent Syncs: %d barrier statements", a.barrier.count()-before)
}

// TestSyncAfterLostListener: a Sync waiting while the listener's
// connection is cut returns once the listener is back and caught up, and
// the write committed meanwhile is published by then.
func TestSyncAfterLostListener(t *testing.T) {
	a, dsn := openTest(t)
	b := openPeer(t, dsn)
	seen := listening(t, a)
	db := sqlConn(t, dsn)
	if _, err := db.Exec(context.Background(), `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE application_name = $1 AND query LIKE 'LISTEN%'`, a.Name()); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UnixMilli()
	put(t, b, coll, docstore.KindRecord, &docstore.Object{ID: "while-down", LastModified: now, Data: json.RawMessage(`{}`)})
	if err := a.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	want := kinto.Event{Kind: docstore.KindRecord, Bucket: "b", Collection: "c", ID: "while-down", Timestamp: now}
	if !slices.Contains(seen(), want) {
		t.Fatalf("Sync returned before the write made while the listener was down was published: %+v", seen())
	}
}
