package postgres

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/changegate/changegate/docstore"
	"github.com/changegate/changegate/kinto"
)

// TestListenRelaysOtherWriters: a write through another engine on the
// same schema, and one by plain SQL as Kinto makes it, reach the
// listener; the listener's own engine's writes do not.
func TestListenRelaysOtherWriters(t *testing.T) {
	a, dsn := openTest(t)
	b, err := Open(context.Background(), dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	events := make(chan kinto.Event, 100)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.Listen(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), func(evs []kinto.Event) {
		for _, ev := range evs {
			events <- ev
		}
	})
	write := func(e *Engine, id string, lm int64) {
		put(t, e, coll, docstore.KindRecord, &docstore.Object{ID: id, LastModified: lm, Data: json.RawMessage(`{}`)})
	}
	// The listener may not be listening yet: write until it hears.
	want := kinto.Event{Kind: docstore.KindRecord, Bucket: "b", Collection: "c", ID: "r0", Timestamp: 10}
	deadline := time.After(5 * time.Second)
	for lm := int64(10); ; lm++ {
		write(a, "own", 1000+lm)
		want.Timestamp = lm
		write(b, "r0", lm)
		select {
		case ev := <-events:
			if ev != want {
				t.Fatalf("event %+v; want %+v", ev, want)
			}
		case <-time.After(100 * time.Millisecond):
			continue
		case <-deadline:
			t.Fatal("no event from the other engine's write")
		}
		break
	}
	db := sqlConn(t, dsn)
	if _, err := db.Exec(context.Background(), `UPDATE objects SET deleted = TRUE, data = '{"deleted": true}', last_modified = from_epoch(5000)
		WHERE id = 'r0'`); err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-events:
		if want := (kinto.Event{Kind: docstore.KindRecord, Bucket: "b", Collection: "c", ID: "r0", Timestamp: 5000, Deleted: true}); ev != want {
			t.Fatalf("event %+v; want %+v", ev, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event from an SQL write")
	}
}

// TestListenCatchesUp: writes committed while the listener's connection
// is down are published after it reconnects.
func TestListenCatchesUp(t *testing.T) {
	a, dsn := openTest(t)
	b, err := Open(context.Background(), dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	events := make(chan kinto.Event, 100)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.Listen(ctx, slog.New(slog.NewTextHandler(io.Discard, nil)), func(evs []kinto.Event) {
		for _, ev := range evs {
			events <- ev
		}
	})
	db := sqlConn(t, dsn)
	var listener int
	for range 50 {
		db.QueryRow(context.Background(), `SELECT pid FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'LISTEN%'`, a.Name()).Scan(&listener)
		if listener != 0 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if listener == 0 {
		t.Fatal("listener never connected")
	}
	// Cut the listener off and write before it can be back.
	now := time.Now().UnixMilli()
	if _, err := db.Exec(context.Background(), `SELECT pg_terminate_backend($1)`, listener); err != nil {
		t.Fatal(err)
	}
	put(t, b, coll, docstore.KindRecord, &docstore.Object{ID: "while-down", LastModified: now, Data: json.RawMessage(`{}`)})
	want := kinto.Event{Kind: docstore.KindRecord, Bucket: "b", Collection: "c", ID: "while-down", Timestamp: now}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev := <-events:
			if ev == want {
				return
			}
		case <-deadline:
			t.Fatal("the write made while the listener was down was never published")
		}
	}
}
