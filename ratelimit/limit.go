package ratelimit

import (
	"errors"
	"fmt"
	"time"
)

// Limit is a quota: Events per Window.
type Limit struct {
	Events int64
	Window time.Duration
}

// Validate checks that the limit can be enforced and advertised: at least
// one event, a window of whole seconds (the RateLimit-Policy "w" parameter
// and Retry-After are integer seconds), and at least a microsecond between
// events (the unit both stores count in).
func (l Limit) Validate() error {
	switch {
	case l.Events < 1:
		return fmt.Errorf("events must be at least 1, got %d", l.Events)
	case l.Window < time.Second || l.Window%time.Second != 0:
		return fmt.Errorf("window must be a whole number of seconds, at least 1s, got %s", l.Window)
	case l.interval() < 1:
		return errors.New("more than one event per microsecond is not supported")
	}
	return nil
}

// String renders the limit as "100 per 1m0s".
func (l Limit) String() string { return fmt.Sprintf("%d per %s", l.Events, l.Window) }

// window is W in microseconds.
func (l Limit) window() int64 { return l.Window.Microseconds() }

// interval is the emission interval W/N in microseconds, rounded down, so
// that a fresh key's burst of N always fits in the window.
func (l Limit) interval() int64 { return l.window() / l.Events }

// admits reports whether a request arriving at now is allowed when the
// key's theoretical arrival time is tat (already raised to now).
func (l Limit) admits(now, tat int64) bool { return tat+l.interval()-l.window() <= now }

// state describes the budget of a key whose theoretical arrival time is
// pending microseconds ahead of now.
func (l Limit) state(pending int64, allowed bool) State {
	w, t := l.window(), l.interval()
	remaining := min(max(w-pending, 0)/t, l.Events)
	s := State{
		Limit:     l,
		Allowed:   allowed,
		Remaining: remaining,
		Reset:     time.Duration(pending) * time.Microsecond,
	}
	if remaining < l.Events {
		// One more event is free once pending has shrunk to
		// W - (remaining+1)·T, the point where the floor above steps up.
		s.Next = time.Duration(pending-(w-(remaining+1)*t)) * time.Microsecond
	}
	return s
}
