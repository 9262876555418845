package feeds

import (
	"github.com/prometheus/client_golang/prometheus"
)

// The package's Prometheus metrics. They are process-wide (a config
// reload keeps counting) and carry no bucket or collection labels, so
// their number is fixed; the feed type is one of four.
//
// Hooks in the serving code are one-line calls to the functions below.
var (
	feedRows  = newFeedCounter("rows_sent_total", "Rows (changes) rendered into _changes feeds, by feed type; an answer shared by parked longpolls woken by one event counts once.")
	feedBytes = newFeedCounter("bytes_sent_total", "Bytes of _changes feed bodies written to clients, by feed type.")
	feedGone  = newFeedCounter("disconnects_total", "_changes feeds whose client went away before the feed ended, by feed type.")
	feedsOpen = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "changegate", Subsystem: "feeds", Name: "open",
		Help: "_changes feeds being served on a request, by feed type (parked longpolls are in changegate_feeds_parked_longpolls).",
	}, []string{"type"})
	feedsParked = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Namespace: "changegate", Subsystem: "feeds", Name: "parked_longpolls",
		Help: "Idle longpoll feeds waiting off their request goroutine.",
	}, func() float64 { return float64(parking.count()) })
)

// feedCounter is a counter by feed type, resolved once per type.
type feedCounter struct {
	vec  *prometheus.CounterVec
	each map[string]prometheus.Counter
}

func newFeedCounter(name, help string) feedCounter {
	vec := prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "changegate", Subsystem: "feeds", Name: name, Help: help,
	}, []string{"type"})
	c := feedCounter{vec: vec, each: map[string]prometheus.Counter{}}
	for _, t := range []string{feedNormal, feedLongpoll, feedContinuous, feedEventSource} {
		c.each[t] = vec.WithLabelValues(t)
	}
	return c
}

func (c feedCounter) add(feedType string, n int) {
	if m := c.each[feedType]; m != nil && n > 0 {
		m.Add(float64(n))
	}
}

// feedOpened counts a feed served on its request; the function returned
// uncounts it.
func feedOpened(feedType string) func() {
	g := feedsOpen.WithLabelValues(feedType)
	g.Inc()
	return g.Dec
}

// count is the number of parked feeds.
func (r *parkRegistry) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, s := range r.sets {
		n += len(s.feeds)
	}
	return n
}

// Collectors returns the package's metrics, for the server's registry.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{feedRows.vec, feedBytes.vec, feedGone.vec, feedsOpen, feedsParked}
}

// countSent counts the buffer just written, unless it went into a parked
// feed's buffer (counted when written to the connection).
func (fw *feedWriter) countSent() {
	if _, buffered := fw.w.(*feedBuffer); !buffered && fw.err == nil {
		feedBytes.add(fw.feed, len(fw.buf))
	}
}
