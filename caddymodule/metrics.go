package caddymodule

import (
	"errors"
	"fmt"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/changegate/changegate/changes"
	"github.com/changegate/changegate/changes/upstream"
	"github.com/changegate/changegate/docstore"
)

// registerMetrics puts the docstore's, changes' and the sidecar's
// metrics in the config's registry, which Caddy's admin /metrics serves.
// The collectors are process-wide, as throttle's are: each config's
// registry gets them once, and they keep counting across reloads.
func registerMetrics(ctx caddy.Context) error {
	reg := ctx.GetMetricsRegistry()
	if reg == nil {
		return nil
	}
	all := append(docstore.Collectors(), changes.Collectors()...)
	all = append(all, upstream.Collectors()...)
	all = append(all, storageSize{})
	for _, c := range all {
		if err := reg.Register(c); err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
			return fmt.Errorf("registering metrics: %v", err)
		}
	}
	return nil
}

// storageSize reports the bytes held by the open stores at scrape time.
type storageSize struct{}

var descStorageBytes = prometheus.NewDesc("changegate_docstore_storage_bytes",
	"Size of the data of the open docstore storages (bolt: the file's used size), summed.", nil, nil)

func (storageSize) Describe(ch chan<- *prometheus.Desc) { ch <- descStorageBytes }

func (storageSize) Collect(ch chan<- prometheus.Metric) {
	var total int64
	stores.Range(func(_, v any) bool {
		if s, ok := v.(*openStore).engine.(docstore.Sizer); ok {
			if n, err := s.Size(); err == nil {
				total += n
			}
		}
		return true
	})
	ch <- prometheus.MustNewConstMetric(descStorageBytes, prometheus.GaugeValue, float64(total))
}
