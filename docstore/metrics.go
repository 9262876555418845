package docstore

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The package's Prometheus metrics, process-wide. Labels are bounded:
// the route class (never an id), the method among HTTP's, the status.
// Hooks in the serving code are one-line calls to the functions below.
var (
	requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: "changegate", Subsystem: "docstore", Name: "requests_total",
		Help: "Requests answered by the docstore, by route class (bucket, records, batch...), method and status code.",
	}, []string{"route", "method", "code"})
	writeDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Namespace: "changegate", Subsystem: "docstore", Name: "write_duration_seconds",
		Help:    "Time of write transactions, commit and fsync included.",
		Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16),
	})
)

// Collectors returns the package's metrics, for the server's registry.
func Collectors() []prometheus.Collector { return []prometheus.Collector{requests, writeDuration} }

// countRequest counts one answered request.
func countRequest(method, path string, status int) {
	requests.WithLabelValues(routeClass(path), methodLabel(method), statusLabel(status)).Inc()
}

// statusLabels are the codes' labels, made once.
var statusLabels = func() (l [600]string) {
	for i := range l {
		l[i] = strconv.Itoa(i)
	}
	return l
}()

func statusLabel(status int) string {
	if status >= 0 && status < len(statusLabels) {
		return statusLabels[status]
	}
	return strconv.Itoa(status)
}

// observeWrite times a write transaction: defer observeWrite(time.Now()).
func observeWrite(start time.Time) { writeDuration.Observe(time.Since(start).Seconds()) }

// routeClass names what a path below the prefix addresses without its
// ids: "bucket", "records", "heartbeat", ... "unknown". It reads the
// segments in place: counting must not cost the request an allocation.
func routeClass(p string) string {
	if !strings.HasPrefix(p, "/buckets") {
		if rt, ok := parseRoute(p); ok {
			return rt.name
		}
		return "unknown"
	}
	var segs [6]string
	n := 0
	for rest := p[1:]; ; n++ {
		seg, more, found := strings.Cut(rest, "/")
		if seg == "" || n == len(segs) {
			return "unknown"
		}
		segs[n] = seg
		if !found {
			n++
			break
		}
		rest = more
	}
	r, ok := refFromSegments(segs[:n])
	switch {
	case !ok:
		return "unknown"
	case r.ID == "":
		return r.Kind + "s"
	}
	return r.Kind
}

// methodLabel keeps the label's values to HTTP's methods.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}
