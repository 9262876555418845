package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/changegate/changegate/docstore"
)

var (
	errReadOnly = errors.New("write in a read-only transaction")
	errClosed   = errors.New("transaction used after its callback returned")
)

// Conversions between Kinto's TIMESTAMP columns and epoch milliseconds,
// written out rather than calling Kinto's as_epoch and from_epoch
// (PL/pgSQL functions) so that the planner can use the plain indexes. The
// session time zone is UTC (see Open), which makes them equal to Kinto's.
const (
	msOf = "(EXTRACT(EPOCH FROM %s) * 1000)::BIGINT"
	tsOf = "('epoch'::TIMESTAMP + %s::BIGINT * INTERVAL '1 millisecond')"
)

// maxMillis is beyond what TIMESTAMP holds (year 294276); a Since past it
// matches nothing.
const maxMillis = 9_000_000_000_000_000

// listKey names one (parent, kind) list.
type listKey struct{ parent, kind string }

var _ docstore.Tx = (*tx)(nil)

// tx is the docstore.Tx of one fn call.
type tx struct {
	ctx  context.Context
	conn *pgxpool.Conn
	// begin is the BEGIN statement, sent with the first statement;
	// begun reports that it was.
	begin string
	begun bool
	// mayAlone lets a View send its first statement outside a
	// transaction when the caller says it is the only one (alone, set by
	// GetMany); sentAlone records that it did, and needSnapshot that a
	// statement followed, which makes the View run again (see
	// errNeedSnapshot).
	mayAlone     bool
	alone        bool
	sentAlone    bool
	needSnapshot bool
	writable     bool
	closed       bool
	// writes counts mutations, so that a scan whose callback wrote
	// queries again from where it stood.
	writes uint64
	// stamps holds the timestamps SetTimestamp stored, written at commit
	// (see flushTimestamps).
	stamps map[listKey]int64
	// locked holds the lists whose ordering lock this transaction holds.
	locked map[listKey]bool
	// pending are statements to send in front of the next one: the
	// savepoint statements of group commit (see groupcommit.go).
	pending []string
	// onlyHeld refuses the ordering lock of a list the batch does not
	// hold (a write after the first of a group commit); busy records
	// that a write needed one (busyKey). failed is the first statement
	// error, which leaves the (sub)transaction aborted whatever fn
	// returns.
	onlyHeld bool
	busy     bool
	busyKey  listKey
	failed   error
	// grp is the batch of a write transaction (see groupcommit.go).
	grp *group
	// holdStamps keeps the timestamps SetTimestamp stored until the
	// commit (see queueTimestamps).
	holdStamps bool
	// flushes counts the sends of pending statements: a batched write
	// that made none sent nothing.
	flushes int
	// wantStamps are the list timestamps the next GetMany reads too
	// (see PrefetchTimestamp), and readStamps what it read, nil for a
	// list without one.
	wantStamps []listKey
	readStamps map[listKey]*int64
}

// readable fails once the callback has returned.
func (t *tx) readable() error {
	if t.closed {
		return errClosed
	}
	return nil
}

// writable fails in read-only or finished transactions, and otherwise
// counts the write that follows.
func (t *tx) writableCheck() error {
	if err := t.readable(); err != nil {
		return err
	}
	if !t.writable {
		return errReadOnly
	}
	t.writes++
	// Timestamps read ahead (PrefetchTimestamp) may not hold after a
	// write.
	clear(t.readStamps)
	return nil
}

// exec runs one statement.
func (t *tx) exec(sql string, args ...any) error {
	b := &pgx.Batch{}
	b.Queue(sql, args...)
	return t.batch(b)
}

// queryRow runs one statement and scans its row with fn (pgx.ErrNoRows
// when there is none).
func (t *tx) queryRow(fn func(pgx.Row) error, sql string, args ...any) error {
	return t.query(func(rows pgx.Rows) error {
		return fn(rowOf{rows})
	}, sql, args...)
}

// rowOf is the first row of rows, as pgx.Conn.QueryRow gives it.
type rowOf struct{ rows pgx.Rows }

func (r rowOf) Scan(dest ...any) error {
	defer r.rows.Close()
	if !r.rows.Next() {
		if err := r.rows.Err(); err != nil {
			return err
		}
		return pgx.ErrNoRows
	}
	if err := r.rows.Scan(dest...); err != nil {
		return err
	}
	r.rows.Close()
	return r.rows.Err()
}

// query runs one statement and reads its rows with fn. Once no BEGIN
// needs to travel with it, it goes as a plain extended-protocol query,
// one write to the socket, rather than as a pipeline.
func (t *tx) query(fn func(pgx.Rows) error, sql string, args ...any) error {
	direct, err := t.start()
	if err != nil {
		return err
	}
	if !direct {
		b := t.prefixed()
		b.Queue(sql, args...).Query(fn)
		return t.noteFailure(unavailable(t.conn.SendBatch(t.ctx, b).Close()))
	}
	rows, err := t.conn.Query(t.ctx, sql, args...)
	if err != nil {
		return t.noteFailure(unavailable(err))
	}
	defer rows.Close()
	if err := fn(rows); err != nil {
		return t.noteFailure(unavailable(err))
	}
	rows.Close()
	return t.noteFailure(unavailable(rows.Err()))
}

// queryLast is query for a View's last statement: it goes alone when
// nothing was sent yet, else COMMIT goes with it, which saves the
// round trip of the COMMIT. A statement after it fails with
// errNeedSnapshot, as after a lone one, and the View runs again with
// every statement in its transaction.
func (t *tx) queryLast(fn func(pgx.Rows) error, sql string, args ...any) error {
	if t.writable || !t.mayAlone || len(t.pending) > 0 {
		return t.query(fn, sql, args...)
	}
	if !t.begun {
		t.alone = true
		return t.query(fn, sql, args...)
	}
	b := &pgx.Batch{}
	b.Queue(sql, args...).Query(fn)
	b.Queue("COMMIT")
	if err := t.batch(b); err != nil {
		return err
	}
	t.begun, t.sentAlone = false, true
	return nil
}

// prefixed returns a batch holding the statements that must go in front
// of the next one (BEGIN, savepoints), which are then sent.
func (t *tx) prefixed() *pgx.Batch {
	b := &pgx.Batch{}
	for _, sql := range t.pending {
		b.Queue(sql)
	}
	t.pending = t.pending[:0]
	t.flushes++
	return b
}

// noteFailure keeps the first error the server reported for a statement:
// the transaction (or the savepoint's subtransaction) is aborted from
// then on, even when the caller goes on.
func (t *tx) noteFailure(err error) error {
	var pgErr *pgconn.PgError
	if t.failed == nil && errors.As(err, &pgErr) {
		t.failed = err
	}
	return err
}

// start decides how the next statements go: direct (nothing to send
// first) in a begun transaction without pending statements and for a
// View's lone statement, or with the pending statements (the
// transaction's BEGIN, savepoints) in front. It fails with errNeedSnapshot when a
// statement follows a View's lone one.
func (t *tx) start() (direct bool, err error) {
	alone := t.alone
	t.alone = false
	switch {
	case t.begun:
		return len(t.pending) == 0, nil
	case t.sentAlone:
		t.needSnapshot = true
		return false, errNeedSnapshot
	case alone && t.mayAlone:
		t.sentAlone = true
		return true, nil
	}
	t.begun = true
	t.pending = append(t.pending, t.begin)
	return false, nil
}

// batch sends statements in one round trip and reads every result, the
// results going to the callbacks of the queued queries. The transaction's
// BEGIN goes with the first batch, which saves a round trip per
// transaction: a record GET is a few statements.
func (t *tx) batch(b *pgx.Batch) error {
	direct, err := t.start()
	if err != nil {
		return err
	}
	if !direct {
		first := t.prefixed()
		first.QueuedQueries = append(first.QueuedQueries, b.QueuedQueries...)
		b = first
	}
	return t.noteFailure(unavailable(t.conn.SendBatch(t.ctx, b).Close()))
}

// Count returns the live objects of (parent, kind).
func (t *tx) Count(parent, kind string) (int, error) {
	err := t.readable()
	if err == nil {
		err = docstore.CheckList(parent, kind)
	}
	var n int
	if err == nil {
		err = t.queryRow(func(row pgx.Row) error { return row.Scan(&n) }, `SELECT count(*) FROM objects
			WHERE parent_id = $1 AND resource_name = $2 AND NOT deleted`, parent, kind)
	}
	if err != nil {
		return 0, fmt.Errorf("counting %s of %q: %w", kind, parent, unavailable(err))
	}
	return n, nil
}

// DeleteTree removes the objects, timestamps and access control entries
// of uri's lists and of every list below it.
func (t *tx) DeleteTree(uri string) error {
	err := t.writableCheck()
	if err == nil {
		err = docstore.CheckURI(uri)
	}
	if err == nil {
		lo, hi := treeRange(uri)
		b := &pgx.Batch{}
		b.Queue(`DELETE FROM objects WHERE parent_id = $1 OR (parent_id >= $2 AND parent_id < $3)`, uri, lo, hi)
		b.Queue(`DELETE FROM timestamps WHERE parent_id = $1 OR (parent_id >= $2 AND parent_id < $3)`, uri, lo, hi)
		b.Queue(`DELETE FROM access_control_entries WHERE object_id >= $1 AND object_id < $2`, lo, hi)
		// user_principals.principal has the database's collation: no range.
		b.Queue(`DELETE FROM user_principals WHERE starts_with(principal, $1)`, lo)
		err = t.batch(b)
	}
	if err != nil {
		return fmt.Errorf("deleting tree %q: %w", uri, err)
	}
	for k := range t.stamps {
		if k.parent == uri || (len(k.parent) > len(uri) && k.parent[:len(uri)+1] == uri+"/") {
			delete(t.stamps, k)
		}
	}
	return nil
}
