// Package postgres is a docstore.Engine on PostgreSQL, in the layout of
// Kinto's own PostgreSQL backends (storage schema 26, permission schema 2),
// so that changegate and Kinto can serve the same database.
//
// Objects are rows of Kinto's objects table (data without id and
// last_modified, tombstones as {"deleted": true}), permissions are rows of
// access_control_entries keyed by the object's URI, and list timestamps are
// rows of timestamps. Writes to one list are ordered by a lock on its
// timestamps row taken before the new timestamp is chosen (see
// Tx.Timestamp; other writers, Kinto included, take it through a trigger,
// see orderDDL), so commits in a collection happen in timestamp order and
// a reader following _since never skips one.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/changegate/changegate/docstore"
)

// ErrUnavailable wraps every error that comes from reaching PostgreSQL
// rather than from the data: a refused or lost connection, a server
// shutting down, a timeout. The HTTP layer answers these with Kinto's
// 503 (errno 201) and Retry-After.
var ErrUnavailable = errors.New("postgresql unavailable")

// DefaultMaxConns is the pool size when the DSN sets no pool_max_conns.
// A write holds its connection across a commit (one fsync on the server),
// so a handful of connections already keeps the server's WAL flusher busy;
// more mostly adds lock waits on hot collections.
const DefaultMaxConns = 16

// maxAttempts bounds the runs of an Update's fn after deadlocks and
// serialization failures, which PostgreSQL reports for one transaction of
// a conflicting pair so that it can be retried.
const maxAttempts = 5

// Options tunes Open.
type Options struct {
	// Name tells PostgreSQL (application_name) and the notifications who
	// wrote, so that an instance can ignore its own writes' notifications.
	// Empty: the DSN's application_name (default "changegate") followed by
	// "/" and a random suffix.
	Name string
}

// Engine is a docstore.Engine on a pgx connection pool.
type Engine struct {
	pool *pgxpool.Pool
	name string
	dsn  string
	// barrier serves Sync, with the listener.
	barrier barrier
	// commits batches concurrent writes into shared transactions.
	commits *committer
}

var _ docstore.Engine = (*Engine)(nil)

// Open connects to the database of dsn, creates Kinto's schema when the
// database has none, checks its versions otherwise, and adds changegate's
// columns and triggers.
func Open(ctx context.Context, dsn string, opts Options) (*Engine, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("parsing postgres DSN: %w", err)
	}
	// The name must be unique per instance: an instance ignores the
	// notifications of writes made under its own name.
	name := opts.Name
	if name == "" {
		prefix := cfg.ConnConfig.RuntimeParams["application_name"]
		if prefix == "" {
			prefix = "changegate"
		}
		name = prefix + "/" + randomName()
	}
	if !hasParam(dsn, "pool_max_conns") {
		cfg.MaxConns = DefaultMaxConns
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = name
	// Kinto's timestamps are UTC wall times in TIMESTAMP columns, and the
	// durability promise is "acknowledged means on disk".
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connecting to postgres: %w", unavailable(err))
	}
	e := &Engine{pool: pool, name: name, dsn: dsn}
	// Half the pool at most runs batches: the other half serves reads
	// (a write's own dry run among them).
	e.commits = &committer{e: e, limit: min(groupRunners, max(1, int(cfg.MaxConns)/2)), size: maxGroup}
	err = pool.AcquireFunc(ctx, func(c *pgxpool.Conn) error { return ensureSchema(ctx, c.Conn()) })
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("preparing postgres schema: %w", unavailable(err))
	}
	return e, nil
}

// Name is the application_name of the engine's connections.
func (e *Engine) Name() string { return e.name }

// Update runs fn in a READ COMMITTED transaction and commits it; with
// synchronous_commit on, the commit has reached the server's disk when
// Update returns. Concurrent Updates share transactions and commits (see
// groupcommit.go), each under its own savepoint, so one's failure is its
// own. fn is run again after a deadlock, a serialization failure, a
// connection lost before the commit was sent (a pooled connection the
// server dropped, as a server restart does), or when its batch could not
// take a lock at once; a connection lost during the commit is reported,
// since the commit may have happened.
func (e *Engine) Update(ctx context.Context, fn func(docstore.Tx) error) error {
	return e.commits.update(ctx, fn)
}

// CheapRollback reports that a transaction which writes nothing, or is
// rolled back, flushes no WAL: a refused write costs PostgreSQL no more
// in Update than in View, and its list locks go with its rollback (a
// batch rolls a failed write back at once, not at the batch's commit).
func (e *Engine) CheapRollback() bool { return true }

var _ docstore.CheapRollback = (*Engine)(nil)

// View runs fn in a read-only REPEATABLE READ transaction: one snapshot
// for every statement. It is retried like Update. A View whose only
// statement is a GetMany with last runs that statement alone, without the
// round trips of BEGIN and COMMIT; should another statement follow, fn
// runs again in a transaction.
func (e *Engine) View(ctx context.Context, fn func(docstore.Tx) error) error {
	var err error
	alone := true
	for range maxAttempts {
		err = e.read(ctx, alone, fn)
		if errors.Is(err, errNeedSnapshot) {
			alone = false
			err = e.read(ctx, false, fn)
		}
		if !retryable(err) {
			return err
		}
	}
	return err
}

// errCommit marks a failed commit, which must not be retried.
type errCommit struct{ err error }

func (e errCommit) Error() string { return "committing postgres transaction: " + e.err.Error() }
func (e errCommit) Unwrap() error { return e.err }

// The statements that begin transactions. They are sent with the first
// statement of fn, in the same round trip (see tx.batch).
const (
	beginWrite = "BEGIN ISOLATION LEVEL READ COMMITTED READ WRITE"
	beginRead  = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
)

// read takes a connection and runs fn in a read-only transaction on it
// (writes go through the committer's batches instead).
func (e *Engine) read(ctx context.Context, mayAlone bool, fn func(docstore.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	conn, err := e.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("taking a postgres connection: %w", unavailable(err))
	}
	t := &tx{ctx: ctx, conn: conn, begin: beginRead, mayAlone: mayAlone}
	committed := false
	defer func() {
		t.closed = true
		if t.begun && !committed {
			// On a lost connection this fails, and the pool drops a
			// connection left in a transaction when it is released.
			conn.Exec(context.WithoutCancel(ctx), "ROLLBACK")
		}
		conn.Release()
	}()
	err = fn(t)
	if t.needSnapshot {
		// fn may have swallowed errNeedSnapshot: what it did is void.
		return errNeedSnapshot
	}
	if err != nil {
		return err
	}
	if !t.begun {
		return nil
	}
	tag, err := conn.Exec(ctx, "COMMIT")
	committed = true
	switch {
	case err != nil:
		return errCommit{unavailable(err)}
	case tag.String() != "COMMIT":
		// COMMIT of a failed transaction answers ROLLBACK.
		return errCommit{errors.New("transaction rolled back")}
	}
	return nil
}

// Close closes the pool.
func (e *Engine) Close() error {
	e.pool.Close()
	return nil
}

// retryable reports an error before the commit that a new run may not
// meet: a lost connection, a deadlock, a serialization failure, or two writes
// of one list with the same last_modified: writers that do not take the
// ordering lock (Kinto) can pick the timestamp a changegate write picked
// before either committed; the run again reads the newer timestamp.
func retryable(err error) bool {
	if errors.As(err, new(errCommit)) {
		return false
	}
	if errors.Is(err, ErrUnavailable) {
		return true
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	return pgErr.Code == "40P01" || pgErr.Code == "40001" ||
		(pgErr.Code == "23505" && pgErr.ConstraintName == "idx_objects_parent_id_resource_name_last_modified")
}

// unavailable wraps err with ErrUnavailable when it comes from reaching
// the server rather than from the statement or the data: a refused or
// broken connection, a timeout, or a server error of a class that means
// the server cannot serve now (08 connection exception, 53 insufficient
// resources, 57 operator intervention such as a shutdown).
func unavailable(err error) error {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, ErrUnavailable) {
		return err
	}
	var pgErr *pgconn.PgError
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &pgErr):
		if c := pgErr.Code; len(c) < 2 || (c[:2] != "08" && c[:2] != "53" && c[:2] != "57") {
			return err
		}
	case errors.As(err, &connectErr), errors.As(err, &netErr), pgconn.Timeout(err),
		errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed),
		errors.Is(err, context.DeadlineExceeded), strings.Contains(err.Error(), "conn closed"):
	default:
		return err
	}
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// pingTimeout bounds Ping.
const pingTimeout = 5 * time.Second

// Ping checks that the server answers.
func (e *Engine) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	if err := e.pool.Ping(ctx); err != nil {
		return fmt.Errorf("pinging postgres: %w", unavailable(err))
	}
	return nil
}
