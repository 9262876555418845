package changes

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/changegate/changegate/feeds"
)

// The package's Prometheus metrics. They are process-wide (a config
// reload keeps counting) and carry no bucket or collection labels, so
// their number is fixed.
//
// Hooks in the serving code are one-line calls to the functions below.
var (
	changesetBuild = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "changegate", Subsystem: "changes", Name: "changeset_build_duration_seconds",
		Help:    "Time to read and render a changeset that was not in the cache.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 4, 10),
	})
)

// observeChangesetBuild times a changeset read from storage:
// defer observeChangesetBuild(time.Now()).
func observeChangesetBuild(start time.Time) { changesetBuild.Observe(time.Since(start).Seconds()) }

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
)

func (stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descCacheHits, descCacheMisses, descCacheBytes, descMonitor} {
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

// Collectors returns the package's metrics and the feeds', for the
// server's registry.
func Collectors() []prometheus.Collector {
	return append([]prometheus.Collector{changesetBuild, stateCollector{}}, feeds.Collectors()...)
}
