package postgres

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// syncTimeout bounds how long Sync waits for the listener (one that lost
// its connection answers once it has reconnected and caught up).
const syncTimeout = 5 * time.Second

// barrier lets a request wait until this instance's listener has relayed
// every write committed before the request began (Sync). The listener
// answers on its own connection: it stops waiting for notifications and
// runs an empty statement. A writer's commit signals every listening
// session of the database before the writer is acknowledged, and a
// signalled session sends the notifications it has (read from the queue
// up to the newest commit) before it answers any later statement: when
// the statement returns, the listener has received, and published, the
// notification of every write acknowledged before the request. That costs
// PostgreSQL one trivial statement: no transaction id, no commit record,
// no NOTIFY queue lock.
//
// Concurrent callers share a round: callers join the round that has not
// been started yet, the listener runs one at a time, so a caller waits
// for at most two statements and the server sees at most one per round
// trip however many requests ask.
type barrier struct {
	mu sync.Mutex
	// started is set by the first Listen: without a listener there is
	// nothing to wait for.
	started bool
	// open is the round callers join, not started yet.
	open *round
	// interrupt stops the listener's wait for notifications (nil while it
	// does not wait).
	interrupt context.CancelFunc
	// rounds counts the rounds run.
	rounds uint64
}

// round is one barrier statement and the callers waiting for it.
type round struct {
	done chan struct{}
	err  error
}

// Sync returns once the engine's listener has published the events of
// every write committed, by anyone, before Sync was called; at once when
// no listener runs. It fails (ErrUnavailable) when the listener cannot
// confirm that in time.
func (e *Engine) Sync(ctx context.Context) error {
	b := &e.barrier
	b.mu.Lock()
	if !b.started {
		b.mu.Unlock()
		return nil
	}
	r := b.open
	if r == nil {
		r = &round{done: make(chan struct{})}
		b.open = r
	}
	if b.interrupt != nil {
		b.interrupt()
		b.interrupt = nil
	}
	b.mu.Unlock()
	timer := time.NewTimer(syncTimeout)
	defer timer.Stop()
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return fmt.Errorf("%w: the listener did not confirm its notifications within %v", ErrUnavailable, syncTimeout)
	}
}

// connected marks that a listener runs.
func (b *barrier) connected() {
	b.mu.Lock()
	b.started = true
	b.mu.Unlock()
}

// waiting returns the context of the listener's next wait for
// notifications, which a caller of Sync cancels, or nil when a round is
// open already: the listener runs it instead of waiting.
func (b *barrier) waiting(ctx context.Context) (context.Context, context.CancelFunc) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.open != nil {
		return nil, nil
	}
	wctx, cancel := context.WithCancel(ctx)
	b.interrupt = cancel
	return wctx, cancel
}

// stopWaiting ends the listener's wait: callers of Sync no longer
// interrupt it.
func (b *barrier) stopWaiting() {
	b.mu.Lock()
	b.interrupt = nil
	b.mu.Unlock()
}

// take returns the open round, which the listener runs now (nil: none).
func (b *barrier) take() *round {
	b.mu.Lock()
	defer b.mu.Unlock()
	r := b.open
	b.open = nil
	if r != nil {
		b.rounds++
	}
	return r
}

// finish ends r: its callers' writes were published, or err.
func (r *round) finish(err error) {
	r.err = err
	close(r.done)
}

// count returns the rounds run.
func (b *barrier) count() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.rounds
}

// isStarted reports whether a listener has connected.
func (b *barrier) isStarted() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.started
}
