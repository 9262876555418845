package ratelimit

import (
	"context"
	"time"
)

// Store keeps the keys' state and decides requests.
type Store interface {
	// Take decides hits together and atomically: if every limit has an
	// event left it spends one of each, otherwise it spends none. It
	// fills d, reusing the capacity of d.States, so that a caller can
	// keep decisions in a pool. An error means the store could not decide
	// (Redis unreachable).
	Take(ctx context.Context, hits []Hit, d *Decision) error
}

// Clock tells the time; tests inject a fake one.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock as it was when the process started,
// advanced by the monotonic clock: a wall clock step (NTP, a VM resumed)
// neither locks clients out for the length of a backward step nor hands
// them a fresh budget on a forward one.
type SystemClock struct{}

// clockBase is the process's reference reading of both clocks.
var clockBase = time.Now()

// Now returns the monotonic time since clockBase, on the wall clock's scale.
func (SystemClock) Now() time.Time { return clockBase.Add(time.Since(clockBase)) }
