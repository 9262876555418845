package docstore

import (
	"log/slog"
	"sync"
	"time"
)

// burstQuiet is how long storage must go without failing before the next
// failure is logged again: a full disk fails every write, and one line per
// request would fill the log (and the disk it sits on) in turn.
const burstQuiet = 10 * time.Second

// burstLog logs the first storage failure of a burst, then counts the
// others until burstQuiet passes without one; the next failure's line says
// how many were not logged.
type burstLog struct {
	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// failed records one failure and logs it when it starts a burst.
func (b *burstLog) failed(logger *slog.Logger, now time.Time, method, path string, err error) {
	b.mu.Lock()
	quiet := now.Sub(b.last) >= burstQuiet
	b.last = now
	suppressed := b.suppressed
	if quiet {
		b.suppressed = 0
	} else {
		b.suppressed++
	}
	b.mu.Unlock()
	if quiet {
		logger.Error("storage failure, answering 503 until it recovers", "method", method, "path", path,
			"error", err, "not_logged_since_previous", suppressed)
	}
}
