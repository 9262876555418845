package ratelimit

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics counts the middleware's decisions in
// changegate_throttle_requests_total by result: allowed, limited,
// failed_open, failed_closed. The counters are process-wide, so they keep
// counting across config reloads.
var metrics = func() (m struct {
	requests                                   *prometheus.CounterVec
	allowed, limited, failedOpen, failedClosed prometheus.Counter
}) {
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "changegate",
		Subsystem: "throttle",
		Name:      "requests_total",
		Help:      "Requests decided by throttle, by result: allowed, limited, failed_open, failed_closed.",
	}, []string{"result"})
	m.allowed = m.requests.WithLabelValues("allowed")
	m.limited = m.requests.WithLabelValues("limited")
	m.failedOpen = m.requests.WithLabelValues("failed_open")
	m.failedClosed = m.requests.WithLabelValues("failed_closed")
	return m
}()

// RegisterMetrics adds the counters to reg. Every config's registry gets
// them, and several middlewares may register them in one registry: the
// first registration is the one that counts.
func RegisterMetrics(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	if err := reg.Register(metrics.requests); err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
		return fmt.Errorf("throttle: registering metrics: %v", err)
	}
	return nil
}
