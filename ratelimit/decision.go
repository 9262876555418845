package ratelimit

import (
	"slices"
	"time"
)

// Hit asks for one event of a key's budget under a limit.
type Hit struct {
	// Key identifies the client within its zone; keys of different zones
	// must differ (Policy.Hit prefixes them with the zone name).
	Key   string
	Limit Limit
}

// State is one limit's budget after a decision.
type State struct {
	Limit Limit
	// Allowed reports whether this limit alone had an event left.
	Allowed bool
	// Remaining is the number of events the key may still spend now.
	Remaining int64
	// Reset is the time until the whole budget is back.
	Reset time.Duration
	// Next is the time until one more event is available; zero when the
	// budget is full.
	Next time.Duration
}

// Decision is the outcome of Store.Take.
type Decision struct {
	// Allowed reports whether the request may proceed: every limit had an
	// event left, and one was spent from each.
	Allowed bool
	// Now is the time the stores decided at (microsecond precision).
	Now time.Time
	// States holds one entry per Hit, in the same order.
	States []State
}

// decide fills d from the stores' raw answer: the time, the pending time
// of each key after the decision, and whether all admitted.
func decide(d *Decision, now int64, pending []int64, hits []Hit, allowed bool) {
	d.Allowed, d.Now = allowed, time.UnixMicro(now)
	d.States = slices.Grow(d.States[:0], len(hits))[:len(hits)]
	for i, h := range hits {
		own := allowed
		if !allowed {
			// Nothing was spent: pending is the key's state before the
			// request, so the limit's own verdict can be recomputed.
			own = h.Limit.admits(now, now+pending[i])
		}
		d.States[i] = h.Limit.state(pending[i], own)
	}
}

// Tightest returns the index of the state that answers the X-RateLimit-*
// headers: when the request was refused, the refusing limit that frees up
// last; otherwise the limit with the fewest events left, and among those
// the one that frees up last.
func (d Decision) Tightest() int {
	best := -1
	for i, s := range d.States {
		if !d.Allowed && s.Allowed {
			continue
		}
		if best < 0 || tighter(s, d.States[best]) {
			best = i
		}
	}
	return best
}

func tighter(a, b State) bool {
	if a.Remaining != b.Remaining {
		return a.Remaining < b.Remaining
	}
	return a.Next > b.Next
}

// RetryAfter is how long a refused client must wait until every refusing
// limit has an event again; zero when the request was allowed.
func (d Decision) RetryAfter() time.Duration {
	var wait time.Duration
	for _, s := range d.States {
		if !s.Allowed {
			wait = max(wait, s.Next)
		}
	}
	return wait
}
