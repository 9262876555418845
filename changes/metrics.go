package changes

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The package's Prometheus metrics. They are process-wide (a config
// reload keeps counting) and carry no bucket or collection labels, so
// their number is fixed; the feed type is one of four.
//
// Hooks in the serving code are one-line calls to the functions below.
var (
	changesetBuild = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "changegate", Subsystem: "changes", Name: "changeset_build_duration_seconds",
		Help:    "Time to read and render a changeset that was not in the cache.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
	})
	feedRows  = newFeedCounter("rows_sent_total", "Rows (changes) rendered into _changes feeds, by feed type; an answer shared by parked longpolls woken by one event counts once.")
	feedBytes = newFeedCounter("bytes_sent_total", "Bytes of _changes feed bodies written to clients, by feed type.")
	feedGone  = newFeedCounter("disconnects_total", "_changes feeds whose client went away before the feed ended, by feed type.")
	feedsOpen = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "changegate", Subsystem: "feeds", Name: "open",
		Help: "_changes feeds being served on a request, by feed type (parked longpolls are in changegate_feeds_parked_longpolls).",
	}, []string{"type"})
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

// observeChangesetBuild times a changeset read from storage:
// defer observeChangesetBuild(time.Now()).
func observeChangesetBuild(start time.Time) { changesetBuild.Observe(time.Since(start).Seconds()) }

// feedOpened counts a feed served on its request; the function returned
// uncounts it.
func feedOpened(feedType string) func() {
	g := feedsOpen.WithLabelValues(feedType)
	g.Inc()
	return g.Dec
}

// liveStates are the States open in the process, for the metrics read at
// scrape time (cache counters, monitor size).
var liveStates sync.Map // *State -> struct{}

func trackState(s *State)   { liveStates.Store(s, struct{}{}) }
func untrackState(s *State) { liveStates.Delete(s) }

// stateCollector reads the open States when scraped.
type stateCollector struct{}

var (
	descCacheHits = prometheus.NewDesc("changegate_changes_changeset_cache_hits_total",
		"Changeset requests answered from the cache of rendered changesets.", nil, nil)
	descCacheMisses = prometheus.NewDesc("changegate_changes_changeset_cache_misses_total",
		"Changeset requests not in the cache (read from storage or joined to a read in flight).", nil, nil)
	descCacheBytes = prometheus.NewDesc("changegate_changes_changeset_cache_bytes",
		"Bytes held by the cache of rendered changesets.", nil, nil)
	descMonitor = prometheus.NewDesc("changegate_changes_monitor_collections",
		"Collections listed by the monitor/changes endpoints.", nil, nil)
	descParked = prometheus.NewDesc("changegate_feeds_parked_longpolls",
		"Idle longpoll feeds waiting off their request goroutine.", nil, nil)
)

func (stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descCacheHits, descCacheMisses, descCacheBytes, descMonitor, descParked} {
		ch <- d
	}
}

func (stateCollector) Collect(ch chan<- prometheus.Metric) {
	var hits, misses uint64
	var bytes int64
	monitor := 0
	liveStates.Range(func(k, _ any) bool {
		s := k.(*State)
		st := s.cache.Stats()
		hits, misses, bytes = hits+st.Hits, misses+st.Misses, bytes+st.Bytes
		monitor += s.monitorSize()
		return true
	})
	ch <- prometheus.MustNewConstMetric(descCacheHits, prometheus.CounterValue, float64(hits))
	ch <- prometheus.MustNewConstMetric(descCacheMisses, prometheus.CounterValue, float64(misses))
	ch <- prometheus.MustNewConstMetric(descCacheBytes, prometheus.GaugeValue, float64(bytes))
	ch <- prometheus.MustNewConstMetric(descMonitor, prometheus.GaugeValue, float64(monitor))
	ch <- prometheus.MustNewConstMetric(descParked, prometheus.GaugeValue, float64(parking.count()))
}

// monitorSize is the number of entries of the state's monitor views as
// last rendered.
func (s *State) monitorSize() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, v := range s.views {
		if r := v.cur.Load(); r != nil {
			n += len(r.entries)
		}
	}
	return n
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
	return []prometheus.Collector{changesetBuild, feedRows.vec, feedBytes.vec, feedGone.vec, feedsOpen, stateCollector{}}
}

// countSent counts the buffer just written, unless it went into a parked
// feed's buffer (counted when written to the connection).
func (fw *feedWriter) countSent() {
	if _, buffered := fw.w.(*feedBuffer); !buffered && fw.err == nil {
		feedBytes.add(fw.feed, len(fw.buf))
	}
}
