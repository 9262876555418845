package changes

import (
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/changegate/changegate/kinto"
)

// broadcastKey names the Push broadcast of Remote Settings (BROADCASTER_ID
// "/" CHANNEL_ID).
const broadcastKey = "remote-settings/monitor_changes"

// broadcastTTL is how long a published timestamp is remembered, as the
// reference's cache entry (one day).
const broadcastTTL = 24 * time.Hour

// broadcastState is the last published monitor timestamp, the
// reference's cache entry "remote-settings/monitor_changes/timestamp".
type broadcastState struct {
	mu        sync.Mutex
	published int64
	expires   time.Time
}

// version is the debounced timestamp to publish at now, as the reference
// computes it: a new timestamp replaces the published one only once the
// published one is older than the debounce interval, and only if the new
// change is itself more than the interval after it or older than the
// interval. current reads the monitored timestamp (it is only called
// when needed).
func (b *broadcastState) version(now time.Time, debounce time.Duration, current func() int64, logger *slog.Logger) int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	interval := debounce.Seconds()
	last, cached := b.published, now.Before(b.expires)
	debounced := last
	if !cached {
		debounced = current()
		logger.Info("No previous timestamp found in cache. Publishing current timestamp.")
	} else {
		lastAge := float64(int64(now.Sub(time.UnixMilli(last)).Seconds()))
		msg := fmt.Sprintf("Nothing to do. A change was published very recently, %ds ago.", int64(lastAge))
		if lastAge > interval {
			msg = "Nothing to do. No new change since last published timestamp."
			if cur := current(); cur > last {
				diff := float64((cur - last) / 1000)
				curAge := now.Sub(time.UnixMilli(cur)).Seconds()
				switch {
				case diff > interval:
					msg = fmt.Sprintf("A new change is available. Last is %ds old. Publish!", int64(diff))
					debounced = cur
				case curAge > interval:
					msg = fmt.Sprintf("A new change is available. Last is %gs old. Publish!", curAge)
					debounced = cur
				default:
					msg = fmt.Sprintf("A new change is available. It's too close to previously broadcasted %ds ago.", int64(diff))
				}
			}
		}
		logger.Info(msg, "min_debounce_interval", int64(interval), "last_published_timestamp", last, "last_timestamp_age_seconds", int64(lastAge))
	}
	if !cached || debounced != last {
		b.published, b.expires = debounced, now.Add(broadcastTTL)
	}
	return debounced
}

// serveBroadcasts answers GET /__broadcasts__, the Megaphone endpoint the
// Push service pulls: {"broadcasts": {"remote-settings/monitor_changes":
// "\"<timestamp>\""}, "code": 200}.
func (h *Handler) serveBroadcasts(w http.ResponseWriter, r *http.Request) {
	ts := h.state.broadcast.version(h.now(), h.cfg.BroadcastDebounce, h.broadcastTimestamp, h.logger)
	body := `{"broadcasts":{"` + broadcastKey + `":"\"` + strconv.FormatInt(ts, 10) + `\""},"code":200}`
	h.send(w, r, http.StatusOK, kinto.ExposeDefault, []byte(body))
}

// broadcastTimestamp is the newest monitored timestamp, leaving out
// -preview buckets and collections (a review request must not wake every
// client) and, unless the monitor lists everything, collections
// anonymous clients may not read (the broadcast is public: it must not
// tell that a private collection changed). With no entry it is 0, where
// the reference fails.
func (h *Handler) broadcastTimestamp() int64 {
	for _, e := range h.monitorFor(nil).entries {
		if !strings.Contains(e.Bucket+"/"+e.Collection, "-preview") {
			return e.Timestamp
		}
	}
	return 0
}
