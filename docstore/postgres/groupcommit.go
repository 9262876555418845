package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/changegate/changegate/docstore"
)

// Group commit. A write to a list holds the list's ordering lock from the
// choice of its timestamp through its commit, whose WAL flush is most of
// its time: one write at a time per list would cap a collection at one
// commit per flush. So Updates queue, and a runner puts the writes that
// are waiting into one transaction, one after the other, and commits them
// together: one flush for the batch. Each write but the batch's first
// runs under a savepoint, so a write that fails (its callback's error, a
// statement error such as a unique conflict, a panic) is rolled back alone
// and its error goes to its caller only; the others commit. A batch is
// still one transaction holding its lists' locks until its commit, so
// commits in a list stay in timestamp order, and every write keeps its
// own timestamp (the next write of the list reads the one before it).
//
// One list per batch: the writes of a batch are those of the list whose
// lock its first write took (other writes' commits overlap, and
// PostgreSQL flushes the WAL of commits that wait together once). A write
// after the first that needs the lock of a list the batch does not hold
// is rolled back to its savepoint and handed to the batch of this engine
// that holds that list, or queued for a batch of its own. So only a
// batch's first write waits for locks while holding some, as a lone write
// did before, and batches of one engine never wait for each other's
// locks.

const (
	// groupRunners bounds the batches an engine has in flight at once:
	// more let writes to other lists proceed while a batch waits for a
	// lock or a flush; each holds a pooled connection.
	groupRunners = 4
	// maxGroup bounds the writes of one batch. Each write after the
	// first is a subtransaction, which readers of the rows it wrote must
	// look up while the batch runs, and the batch holds its lists' locks
	// until its commit. Two instances creating into one collection (bench/
	// scale-out.md) did best with 8 of 1, 8 and 48.
	maxGroup = 8
	// savepoint names the savepoint of the write running in a batch.
	// Savepoints of earlier writes stay open until the commit (no
	// RELEASE round trip); ROLLBACK TO finds the innermost of the name.
	savepoint = "SAVEPOINT member"
)

// errLockBusy reports that a batched write needs the lock of a list its
// batch does not hold; the write runs in another batch.
var errLockBusy = errors.New("list locked by another batch")

// queueLock adds the ordering lock of key to b: an advisory lock on the
// list, then (with the timestamp read that follows) its timestamps row:
// it returns that read's row-lock clause.
func (t *tx) queueLock(b *pgx.Batch, key listKey) (forUpdate string) {
	b.Queue(lockListSQL, key.parent, key.kind)
	return "FOR UPDATE"
}

// lockTaken records the lock of key as taken by t and its batch once the
// statements that take it ran without error.
func (t *tx) lockTaken(key listKey, err error) error {
	if err != nil {
		return err
	}
	if t.locked == nil {
		t.locked = map[listKey]bool{}
	}
	t.locked[key] = true
	if t.grp != nil {
		t.grp.c.hold(key, t.grp)
	}
	return nil
}

// lockedElsewhere fails with errLockBusy, before anything is sent, when
// t may only use the locks its batch holds (onlyHeld), or when another
// batch of this engine holds key's lock: the write goes to that batch
// (see group.member) rather than waiting for it.
func (t *tx) lockedElsewhere(key listKey) error {
	if t.onlyHeld || t.grp != nil && t.grp.c.heldByOther(key, t.grp) {
		t.busy, t.busyKey = true, key
		return errLockBusy
	}
	return nil
}

// wantedElsewhere is lockedElsewhere for the locks PrefetchTimestamp
// asked for.
func (t *tx) wantedElsewhere() error {
	for _, k := range t.wantStamps {
		if t.writable && !t.locked[k] {
			if err := t.lockedElsewhere(k); err != nil {
				return err
			}
		}
	}
	return nil
}

// write is one queued Update.
type write struct {
	ctx      context.Context
	fn       func(docstore.Tx) error
	done     chan outcome
	attempts int
	// key is the list whose lock the write needed when a batch handed
	// it on (keyed), so that batches holding other lists skip it.
	key   listKey
	keyed bool
	// seq orders the writes by arrival: the queue is kept in that order,
	// so a write handed back stays behind older ones and ahead of newer.
	seq uint64
}

// outcome is what an Update returns, or the panic it re-raises.
type outcome struct {
	err      error
	panicked bool
	panic    any
}

// committer queues Updates and runs them in batches.
type committer struct {
	e       *Engine
	mu      sync.Mutex
	queue   []*write
	runners int
	// arrived numbers the writes queued (write.seq).
	arrived uint64
	// holders names the batch holding each list's lock, for the writes
	// of that list to join it.
	holders map[listKey]*group
	// limit is the most runners at once (groupRunners), size the most
	// writes in a batch (maxGroup).
	limit, size int
	// commits counts the batches committed.
	commits atomic.Int64
}

// update queues fn and waits for its outcome.
func (c *committer) update(ctx context.Context, fn func(docstore.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	w := &write{ctx: ctx, fn: fn, done: make(chan outcome, 1)}
	c.push(false, w)
	o := <-w.done
	if o.panicked {
		panic(o.panic)
	}
	return o.err
}

// push queues writes and starts a runner when fewer than c.limit run.
// New writes (again false) go to the back. Writes a batch hands back
// (again) go back to their place by arrival: in front of them, a stack
// of writes handed back would make each new batch take the latest, and
// an older write, skipped by batches holding other lists, could wait
// for ever (two instances over 16 collections left some writes
// unanswered for 10 s).
func (c *committer) push(again bool, ws ...*write) {
	if len(ws) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if again {
		c.queue = append(c.queue, ws...)
		slices.SortStableFunc(c.queue, func(a, b *write) int { return cmp.Compare(a.seq, b.seq) })
	} else {
		for _, w := range ws {
			c.arrived++
			w.seq = c.arrived
		}
		c.queue = append(c.queue, ws...)
	}
	if c.runners < c.limit {
		c.runners++
		go c.run()
	}
}

// take pops the next write, nil when none waits; a runner that finds
// none (exit) stops.
func (c *committer) take(exit bool) *write {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.queue) == 0 {
		if exit {
			c.runners--
		}
		return nil
	}
	w := c.queue[0]
	c.queue[0] = nil
	c.queue = c.queue[1:]
	return w
}

// hold records that g holds key's lock, unless another batch is known
// to.
func (c *committer) hold(key listKey, g *group) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.holders == nil {
		c.holders = map[listKey]*group{}
	}
	if _, ok := c.holders[key]; !ok {
		c.holders[key] = g
		g.held = append(g.held, key)
	}
}

// heldByOther reports whether a batch other than g holds key's lock.
func (c *committer) heldByOther(key listKey, g *group) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	h, ok := c.holders[key]
	return ok && h != g
}

// handOver gives w, which needs key's lock, to the batch of this engine
// holding it, else back to the queue, in front: batches holding other
// lists skip it (see group.next), a new batch takes it first.
func (c *committer) handOver(w *write, key listKey, g *group) {
	w.key, w.keyed = key, true
	c.mu.Lock()
	if h, ok := c.holders[key]; ok && h != g {
		h.inbox = append(h.inbox, w)
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	c.push(true, w)
}

// release forgets g's locks and returns the writes handed to it that it
// did not take.
func (c *committer) release(g *group) []*write {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range g.held {
		if c.holders[k] == g {
			delete(c.holders, k)
		}
	}
	left := g.inbox
	g.held, g.inbox = nil, nil
	return left
}

// run runs batches while writes wait.
func (c *committer) run() {
	for w := c.take(true); w != nil; w = c.take(true) {
		c.batch(w)
	}
}

// batch runs first and the writes that wait behind it in one transaction
// and commits it.
func (c *committer) batch(first *write) {
	conn, err := c.e.pool.Acquire(first.ctx)
	if err != nil {
		first.done <- outcome{err: fmt.Errorf("taking a postgres connection: %w", unavailable(err))}
		return
	}
	b := &group{c: c}
	b.base = &tx{ctx: context.WithoutCancel(first.ctx), conn: conn, begin: beginWrite, writable: true, holdStamps: true, grp: b}
	defer func() {
		if b.base.begun || len(b.base.pending) > 0 {
			conn.Exec(b.base.ctx, "ROLLBACK")
		}
		conn.Release()
		c.push(true, append(b.later, c.release(b)...)...)
	}()
	for w := first; w != nil; w = b.next() {
		if !b.member(w) {
			b.retryAll(nil)
			return
		}
	}
	b.commit()
}

// group is the state of one batch.
type group struct {
	c    *committer
	base *tx
	// joined are the writes done in the transaction, waiting for its
	// commit; later those to run again in a later batch.
	joined, later []*write
	// held are the lists whose holder c.holders says g is, and inbox
	// the writes other batches handed over for them (both under c.mu).
	held  []listKey
	inbox []*write
}

// next returns the next write for the batch: one handed over to it, else
// the first queued one not known to need a list the batch does not hold;
// nil when there is none or the batch is full.
func (b *group) next() *write {
	c := b.c
	if len(b.joined)+len(b.later) >= c.size {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(b.inbox) > 0 {
		w := b.inbox[0]
		b.inbox = b.inbox[1:]
		return w
	}
	for i, w := range c.queue {
		if !w.keyed || b.base.locked[w.key] {
			c.queue = slices.Delete(c.queue, i, i+1)
			return w
		}
	}
	return nil
}

// member runs w in the batch's transaction; false means the connection
// is lost and the batch is over.
func (b *group) member(w *write) bool {
	if err := w.ctx.Err(); err != nil {
		w.done <- outcome{err: err}
		return true
	}
	base := b.base
	nested := base.begun
	m := *base
	m.stamps = maps.Clone(base.stamps)
	m.locked = maps.Clone(base.locked)
	m.pending = slices.Clone(base.pending)
	m.wantStamps, m.readStamps = nil, nil
	m.onlyHeld = len(base.locked) > 0
	if nested {
		m.pending = append(m.pending, savepoint)
	}
	o := call(&m, w.fn)
	m.closed = true
	sent := m.flushes > base.flushes
	if o.err == nil && !o.panicked && m.failed == nil && !m.busy {
		if nested && !sent {
			m.pending = base.pending
		}
		*base = m
		base.onlyHeld, base.closed = false, false
		b.joined = append(b.joined, w)
		return true
	}
	undone := b.undo(&m, nested, sent)
	if o.err == nil && !o.panicked {
		o.err = m.failed
	}
	switch {
	case !undone || errors.Is(o.err, ErrUnavailable):
		b.joined = append(b.joined, w)
		return false
	case m.busy:
		b.c.handOver(w, m.busyKey, b)
	case !o.panicked && retryable(o.err) && w.attempts+1 < maxAttempts:
		w.attempts++
		b.later = append(b.later, w)
	default:
		w.done <- o
	}
	return true
}

// undo rolls back what the failed write m did: to its savepoint when it
// ran nested, else the whole transaction, which held only its work. It
// does so at once rather than in front of the next statement: pgx
// prepares a batch's new statements before sending it, which an aborted
// transaction refuses. false means the connection is lost.
func (b *group) undo(m *tx, nested, sent bool) bool {
	base := b.base
	if !sent {
		return true
	}
	base.flushes = m.flushes
	if nested {
		_, err := base.conn.Exec(base.ctx, "ROLLBACK TO "+savepoint)
		return err == nil
	}
	*base = tx{ctx: base.ctx, conn: base.conn, begin: base.begin, writable: true, holdStamps: true, grp: base.grp, flushes: m.flushes}
	_, err := base.conn.Exec(base.ctx, "ROLLBACK")
	return err == nil
}

// call runs fn on t, turning a panic into an outcome.
func call(t *tx, fn func(docstore.Tx) error) (o outcome) {
	defer func() {
		if p := recover(); p != nil {
			o = outcome{panicked: true, panic: p}
		}
	}()
	return outcome{err: fn(t)}
}

// commit writes the timestamps the batch kept and commits, in one round
// trip, then answers the writes that joined: nil once the commit is
// durable. A server error means the COMMIT did not happen (it was
// skipped after a failed statement, or failed itself): the writes may run
// again. A lost connection may have lost the answer of a COMMIT that
// happened, which the writes' callers are told.
func (b *group) commit() {
	base := b.base
	batch := &pgx.Batch{}
	base.holdStamps = false
	base.queueTimestamps(batch)
	if !base.begun && batch.Len() == 0 {
		b.answer(nil)
		return
	}
	var tag pgconn.CommandTag
	batch.Queue("COMMIT").Exec(func(ct pgconn.CommandTag) error {
		tag = ct
		return nil
	})
	err := base.batch(batch)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		b.retryAll(fmt.Errorf("committing postgres transaction: %w", err))
		return
	}
	base.begun = false
	switch {
	case err != nil:
		err = errCommit{unavailable(err)}
	case tag.String() != "COMMIT":
		err = errCommit{errors.New("transaction rolled back")}
	default:
		b.c.commits.Add(1)
	}
	b.answer(err)
}

// answer gives err to every write that joined.
func (b *group) answer(err error) {
	for _, w := range b.joined {
		w.done <- outcome{err: err}
	}
	b.joined = nil
}

// retryAll sends the writes that joined to a later batch, as their
// transaction will not commit, except those out of attempts, which get
// err (or ErrUnavailable when err is nil).
func (b *group) retryAll(err error) {
	if err == nil {
		err = fmt.Errorf("running a postgres transaction: %w", ErrUnavailable)
	}
	for _, w := range b.joined {
		w.attempts++
		if w.attempts < maxAttempts {
			b.later = append(b.later, w)
		} else {
			w.done <- outcome{err: err}
		}
	}
	b.joined = nil
}
