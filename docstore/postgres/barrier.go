package postgres

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"sync"
	"time"
)

// syncTimeout bounds how long a barrier waits for its notification to
// come back (a listener that lost its connection never relays it).
const syncTimeout = 5 * time.Second

// barrier lets a request wait until this instance's listener has relayed
// every write committed before the request began (Sync): it sends a
// notification on a channel of the instance's own and waits for the
// listener to receive it. PostgreSQL queues notifications in commit order
// and a listener reads them in that order, so by then the listener has
// published the events of every transaction that committed before; the
// caches built from those events are then as fresh as storage.
//
// Concurrent callers share a round: callers join the round that has not
// been sent yet, one round is in flight at a time, so a caller waits for
// at most two round trips through PostgreSQL and the listener, and the
// server sees at most one barrier notification per round trip however
// many requests ask.
type barrier struct {
	// channel is the instance's own NOTIFY channel.
	channel string

	mu sync.Mutex
	// started is set by the first Listen: without a listener there is
	// nothing to wait for.
	started bool
	// open is the round callers join; inflight the one sent; sending
	// reports that the goroutine sending rounds runs.
	open, inflight *round
	sending        bool
	// seq numbers rounds; sent is the highest whose notification has
	// committed.
	seq, sent uint64
}

// round is one barrier notification and the callers waiting for it.
type round struct {
	seq  uint64
	done chan struct{}
	err  error
}

// newBarrier returns a barrier with a channel name of its own (NOTIFY
// channel names are identifiers: at most 63 bytes).
func newBarrier() *barrier {
	var b [8]byte
	rand.Read(b[:])
	return &barrier{channel: "changegate_sync_" + hex.EncodeToString(b[:])}
}

// Sync returns once the engine's listener has published the events of
// every write committed, by anyone, before Sync was called; at once when
// no listener runs. It fails (ErrUnavailable) when the listener cannot
// confirm that in time.
func (e *Engine) Sync(ctx context.Context) error {
	b := e.barrier
	b.mu.Lock()
	if !b.started {
		b.mu.Unlock()
		return nil
	}
	r := b.open
	if r == nil {
		r = &round{done: make(chan struct{})}
		b.open = r
		if !b.sending {
			b.sending = true
			go e.sendRounds()
		}
	}
	b.mu.Unlock()
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sendRounds sends the open round and waits for its return, until no
// caller waits.
func (e *Engine) sendRounds() {
	b := e.barrier
	for {
		b.mu.Lock()
		r := b.open
		b.open = nil
		if r == nil {
			b.sending = false
			b.mu.Unlock()
			return
		}
		b.seq++
		r.seq = b.seq
		b.inflight = r
		b.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), syncTimeout)
		// The notification's transaction writes nothing a caller needs on
		// disk: no WAL flush to wait for.
		_, err := e.pool.Exec(ctx, "SELECT set_config('synchronous_commit', 'off', true), pg_notify($1, $2)",
			b.channel, strconv.FormatUint(r.seq, 10))
		cancel()
		if err != nil {
			b.finish(r, fmt.Errorf("sending a notification barrier: %w", unavailable(err)))
			continue
		}
		b.mu.Lock()
		b.sent = r.seq
		b.mu.Unlock()
		select {
		case <-r.done:
		case <-time.After(syncTimeout):
			b.finish(r, fmt.Errorf("%w: the listener did not relay a notification barrier within %v", ErrUnavailable, syncTimeout))
		}
	}
}

// finish ends r with err, once.
func (b *barrier) finish(r *round, err error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.inflight != r {
		return
	}
	b.inflight = nil
	r.err = err
	close(r.done)
}

// release ends the round in flight when its number is at most seq: the
// listener got that far.
func (b *barrier) release(seq uint64) {
	b.mu.Lock()
	r := b.inflight
	b.mu.Unlock()
	if r != nil && r.seq <= seq {
		b.finish(r, nil)
	}
}

// echo handles a notification on the barrier's channel.
func (b *barrier) echo(payload string) {
	if seq, err := strconv.ParseUint(payload, 10, 64); err == nil {
		b.release(seq)
	}
}

// connected marks that a listener runs and returns the highest round
// already sent: the listener calls it before LISTEN, and once it has
// caught up, releases the rounds up to that one, whose notifications it
// may never receive but whose earlier writes its catch-up read covered.
func (b *barrier) connected() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.started = true
	return b.sent
}

// isStarted reports whether a listener has connected.
func (b *barrier) isStarted() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.started
}

// rounds counts the rounds sent.
func (b *barrier) rounds() uint64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.seq
}
