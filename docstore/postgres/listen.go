package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/changegate/changegate/docstore"
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
// also relays the engine's notification barriers (see Sync).
func (e *Engine) Listen(ctx context.Context, log *slog.Logger, publish func([]docstore.Event)) {
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
// relays notifications until the connection fails. live reports that it
// got as far as relaying.
func (e *Engine) listenOnce(ctx context.Context, lost time.Time, publish func([]docstore.Event)) (live bool, err error) {
	cfg := e.pool.Config().ConnConfig.Copy()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return live, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var schema string
	if err := conn.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		return live, err
	}
	sent := e.barrier.connected()
	if _, err := conn.Exec(ctx, "LISTEN "+channel+"; LISTEN "+e.barrier.channel); err != nil {
		return live, err
	}
	if !lost.IsZero() {
		if err := catchUp(ctx, conn, lost.Add(-catchUpMargin), publish); err != nil {
			return live, err
		}
	}
	e.barrier.release(sent)
	live = true
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return live, err
		}
		if n.Channel == e.barrier.channel {
			e.barrier.echo(n.Payload)
			continue
		}
		var p notification
		if json.Unmarshal([]byte(n.Payload), &p) != nil || p.Schema != schema || p.App == e.name {
			continue
		}
		if p.Overflow {
			if err := catchUp(ctx, conn, time.Now().Add(-catchUpMargin), publish); err != nil {
				return live, err
			}
			continue
		}
		if ev, ok := docstore.EventOf(p.Parent, p.Kind, p.ID, p.TS, p.Deleted); ok {
			publish([]docstore.Event{ev})
		}
	}
}

// catchUp publishes the newest object of every list written since, and
// the list timestamps created since.
func catchUp(ctx context.Context, conn *pgx.Conn, since time.Time, publish func([]docstore.Event)) error {
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
	var events []docstore.Event
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
