package upstream

import (
	"sync/atomic"
	"time"
)

// health tracks whether the upstream answers.
type health struct {
	downSince atomic.Int64 // unix nanoseconds, 0 when up
	backoff   atomic.Int64 // current poll delay, nanoseconds
}

// down marks the upstream unavailable from t and reports whether it was
// up.
func (h *health) down(t time.Time) bool {
	return h.downSince.CompareAndSwap(0, t.UnixNano())
}

// up marks the upstream available.
func (h *health) up() { h.downSince.Store(0) }

// since is when the upstream went away, zero when it is up.
func (h *health) since() time.Time {
	if n := h.downSince.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

// retryAfter is the seconds until the poller tries again.
func (h *health) retryAfter() int {
	return int((time.Duration(h.backoff.Load()) + time.Second - 1) / time.Second)
}
