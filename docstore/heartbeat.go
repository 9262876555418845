package docstore

import (
	"context"
	"net/http"
	"time"
)

// HeartbeatTimeout bounds GET /__heartbeat__: a check that has not
// answered by then counts as failed (Kinto's heartbeat_timeout_seconds,
// 10 by default).
const HeartbeatTimeout = 10 * time.Second

// HealthCheck is a dependency the heartbeat reports beside storage: a
// Redis server, an upstream. Name is its key in the answer.
type HealthCheck struct {
	Name  string
	Check func(context.Context) error
}

// SetHealthChecks sets where the heartbeat finds the checks beyond its
// own storage; fn is asked at every heartbeat, as the modules that
// register checks come and go with config reloads.
func (h *Handler) SetHealthChecks(fn func() []HealthCheck) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.healthChecks = fn
}

// heartbeat answers GET /v1/__heartbeat__ as Kinto does: every check runs
// concurrently, each key is true when its check answered in time, and any
// false makes the answer 503. storage, permission and cache are Kinto's
// keys: permissions live in the same store, the caches in memory.
func (h *Handler) heartbeat(ctx context.Context) *response {
	checks := []HealthCheck{{Name: "storage", Check: h.storageHealth}}
	h.mu.RLock()
	extra := h.healthChecks
	h.mu.RUnlock()
	if extra != nil {
		checks = append(checks, extra()...)
	}
	status := RunHealthChecks(ctx, checks)
	status["permission"] = status["storage"]
	status["cache"] = true
	code := http.StatusOK
	if !Healthy(status) {
		code = http.StatusServiceUnavailable
	}
	return marshalResponse(code, status)
}

// storageHealth reads from the store.
func (h *Handler) storageHealth(ctx context.Context) error {
	return h.store.engine.View(ctx, func(tx Tx) error {
		_, _, err := tx.Timestamp("", KindBucket)
		return err
	})
}

// RunHealthChecks runs checks concurrently within HeartbeatTimeout and
// reports each by name; checks sharing a name must all pass.
func RunHealthChecks(ctx context.Context, checks []HealthCheck) map[string]bool {
	ctx, cancel := context.WithTimeout(ctx, HeartbeatTimeout)
	defer cancel()
	results := make([]chan bool, len(checks))
	for i, c := range checks {
		results[i] = make(chan bool, 1)
		go func() { results[i] <- c.Check(ctx) == nil }()
	}
	status := make(map[string]bool, len(checks))
	for i, c := range checks {
		// A check that answered counts even when the deadline has
		// passed meanwhile (waiting on a slower one).
		ok := false
		select {
		case ok = <-results[i]:
		default:
			select {
			case ok = <-results[i]:
			case <-ctx.Done():
			}
		}
		if prev, seen := status[c.Name]; seen {
			ok = ok && prev
		}
		status[c.Name] = ok
	}
	return status
}

// Healthy reports whether every key of a heartbeat is true.
func Healthy(status map[string]bool) bool {
	for _, ok := range status {
		if !ok {
			return false
		}
	}
	return true
}
