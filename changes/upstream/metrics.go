package upstream

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The sidecar's Prometheus metrics, process-wide, without labels.
var (
	polls = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "changegate", Subsystem: "sidecar", Name: "polls_total",
		Help: "Poll rounds over the upstream (bucket listing and a conditional poll of every watched collection).",
	})
	pollFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Namespace: "changegate", Subsystem: "sidecar", Name: "poll_failures_total",
		Help: "Poll rounds that failed (upstream unreachable or answering errors).",
	})
	descLag = prometheus.NewDesc("changegate_sidecar_lag_seconds",
		"Time since the last successful poll round ended (the largest over sidecars): writes made straight to the upstream since then may not be seen yet.", nil, nil)
)

// lastSuccess holds, per running Source, when its last successful round
// ended (when it started, before any).
var lastSuccess sync.Map // *Source -> time.Time

// observeRound counts a round that just ended.
func (s *Source) observeRound(err error) {
	polls.Inc()
	if err != nil {
		pollFailures.Inc()
		return
	}
	lastSuccess.Store(s, time.Now())
}

// forgetRounds drops a closed Source from the lag.
func (s *Source) forgetRounds() { lastSuccess.Delete(s) }

// lagCollector reports the lag at scrape time.
type lagCollector struct{}

func (lagCollector) Describe(ch chan<- *prometheus.Desc) { ch <- descLag }

func (lagCollector) Collect(ch chan<- prometheus.Metric) {
	var lag time.Duration
	lastSuccess.Range(func(_, v any) bool {
		lag = max(lag, time.Since(v.(time.Time)))
		return true
	})
	ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, lag.Seconds())
}

// Collectors returns the package's metrics, for the server's registry.
func Collectors() []prometheus.Collector {
	return []prometheus.Collector{polls, pollFailures, lagCollector{}}
}
