package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/changegate/changegate/docstore"
	"github.com/changegate/changegate/kinto"
)

// channel is the NOTIFY channel of changegate_notify.
const channel = "changegate"

// catchUpMargin is how far before a lost connection the catch-up read
// starts: writes that committed just before the loss may not have been
// delivered, and writers' clocks differ a little.
const catchUpMargin = 10 * time.Second

// Reconnection delays of the listener.
const (
	minRetry = 100 * time.Millisecond
	maxRetry = 5 * time.Second
)

// notification is the payload of changegate_notify.
type notification struct {
	Schema   string `json:"s"`
	Parent   string `json:"p"`
	Kind     string `json:"r"`
	ID       string `json:"i"`
	TS       int64  `json:"t"`
	Deleted  bool   `json:"d"`
	App      string `json:"a"`
	Overflow bool   `json:"overflow"`
}

// Listen delivers to publish the events of writes other writers commit
// (other changegate instances, Kinto, SQL), until ctx ends. Writes through
// this engine are left out: the Store publishes those itself. After a
// lost connection it reconnects, with growing delays, and publishes the
// newest write of every list changed since shortly before the loss, so
// that nothing committed meanwhile goes unseen. Events may repeat. It
// also runs the barriers Sync asks for.
func (e *Engine) Listen(ctx context.Context, log *slog.Logger, publish func([]kinto.Event)) {
	var lost time.Time
	delay := minRetry
	for ctx.Err() == nil {
		live, err := e.listenOnce(ctx, lost, publish)
		if ctx.Err() != nil {
			return
		}
		switch {
		case live:
			// Everything up to now was relayed: catch up from here.
			lost, delay = time.Now(), minRetry
		case lost.IsZero():
			// Never connected: writes from now on must be caught up.
			lost = time.Now()
		}
		log.Warn("postgres listener lost its connection; reconnecting", "error", err, "retry_in", delay)
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		delay = min(2*delay, maxRetry)
	}
}

// listenOnce connects, listens, catches up since lost (unless zero) and
// relays notifications, and runs the barrier rounds Sync asks for, until
// the connection fails. live reports that it got as far as relaying.
func (e *Engine) listenOnce(ctx context.Context, lost time.Time, publish func([]kinto.Event)) (live bool, err error) {
	cfg := e.pool.Config().ConnConfig.Copy()
	var schema string
	overflow := false
	// Notifications are handled as the connection reads them, while it
	// waits and while it runs a statement: a barrier's statement returns
	// after the notifications sent before its answer were published.
	cfg.OnNotification = func(_ *pgconn.PgConn, n *pgconn.Notification) {
		var p notification
		if json.Unmarshal([]byte(n.Payload), &p) != nil || p.Schema != schema || p.App == e.name {
			return
		}
		if p.Overflow {
			// The loop catches up: a read cannot run inside a read.
			overflow = true
			return
		}
		if ev, ok := docstore.EventOf(p.Parent, p.Kind, p.ID, p.TS, p.Deleted); ok {
			publish([]kinto.Event{ev})
		}
	}
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return live, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return live, err
	}
	e.barrier.connected()
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		return live, err
	}
	if !lost.IsZero() {
		if err := catchUp(ctx, conn, lost.Add(-catchUpMargin), publish); err != nil {
			return live, err
		}
	}
	live = true
	for {
		if overflow {
			overflow = false
			if err := catchUp(ctx, conn, time.Now().Add(-catchUpMargin), publish); err != nil {
				return live, err
			}
		}
		if wctx, cancel := e.barrier.waiting(ctx); wctx != nil {
			err := conn.PgConn().WaitForNotification(wctx)
			e.barrier.stopWaiting()
			// A Sync cancels the wait to have a round run; the connection
			// stays usable (the wait ends on a read deadline).
			interrupted := wctx.Err() != nil && ctx.Err() == nil
			cancel()
			if err != nil && !interrupted {
				return live, err
			}
			continue
		}
		if r := e.barrier.take(); r != nil {
			_, err := conn.PgConn().Exec(ctx, ";").ReadAll()
			if err == nil && overflow {
				overflow = false
				err = catchUp(ctx, conn, time.Now().Add(-catchUpMargin), publish)
			}
			if err != nil {
				r.finish(fmt.Errorf("confirming the listener's notifications: %w", unavailable(err)))
				return live, err
			}
			r.finish(nil)
		}
	}
}

// catchUp publishes the newest object of every list written since, and
// the list timestamps created since.
func catchUp(ctx context.Context, conn *pgx.Conn, since time.Time, publish func([]kinto.Event)) error {
	ms := fmt.Sprintf(msOf, "last_modified")
	rows, err := conn.Query(ctx, fmt.Sprintf(`
		SELECT * FROM (SELECT DISTINCT ON (parent_id, resource_name) parent_id, resource_name, id, %[1]s, deleted
			FROM objects WHERE last_modified > %[2]s
			ORDER BY parent_id, resource_name, last_modified DESC) o
		UNION ALL
		SELECT parent_id, resource_name, '', %[1]s, FALSE FROM timestamps WHERE last_modified > %[2]s`,
		ms, fmt.Sprintf(tsOf, "$1")), since.UnixMilli())
	if err != nil {
		return err
	}
	var events []kinto.Event
	for rows.Next() {
		var parent, kind, id string
		var ts int64
		var deleted bool
		if err := rows.Scan(&parent, &kind, &id, &ts, &deleted); err != nil {
			rows.Close()
			return err
		}
		if ev, ok := docstore.EventOf(parent, kind, id, ts, deleted); ok {
			events = append(events, ev)
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	publish(events)
	return nil
}
