package ratelimit

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisProbeInterval is how long a Redis store that failed to answer is
// taken as down: requests meanwhile fail at once instead of each waiting
// for a timeout, and the first request after it probes the server.
// go-redis does the same for refused dials; this covers a server that
// accepts connections but never answers (hung, or a black-holed route),
// which would otherwise cost every request up to twice the timeout (one
// try and one retry).
const RedisProbeInterval = time.Second

// ErrStoreDown is the error of a decision not tried because the store is
// taken as down.
var ErrStoreDown = errors.New("rate limit store is down (failed within the last probe interval)")

// breaker remembers a failed Redis until its next probe.
type breaker struct {
	// downUntil is when the next probe may go, in Unix nanoseconds; 0
	// while the store answers.
	downUntil atomic.Int64
	// probing is set while one request probes a down store.
	probing atomic.Bool
}

// enter reports whether a request may use the store now; probe tells it
// is the one probing a down store, which must call leave.
func (b *breaker) enter(now time.Time) (ok, probe bool) {
	until := b.downUntil.Load()
	if until == 0 {
		return true, false
	}
	if now.UnixNano() < until || !b.probing.CompareAndSwap(false, true) {
		return false, false
	}
	return true, true
}

// leave records the outcome of a use of the store.
func (b *breaker) leave(ctx context.Context, probe bool, err error, now time.Time) {
	if probe {
		defer b.probing.Store(false)
	}
	switch {
	case err == nil:
		b.downUntil.Store(0)
	case isOutage(ctx, err):
		b.downUntil.Store(now.Add(RedisProbeInterval).UnixNano())
	}
}

// isOutage tells a failure of the server or the network from an answer
// (a script error is a bug, not an outage) and from the client going
// away.
func isOutage(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var reply redis.Error
	return !errors.As(err, &reply)
}
