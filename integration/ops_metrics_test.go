package integration

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/changegate/changegate/internal/testserver"
)

// metricsCaddyfile is a standalone server with changes on {port} and a
// sidecar in front of it on %d, in one process.
const metricsCaddyfile = changesGlobal + `:{port} {
	changes {
		resources /buckets/main
	}
	docstore {
		storage bolt {dir}/data.db
		userid_hmac_secret test-secret-of-16-bytes
		insecure_allow_all
	}
}
:%[1]d {
	changes {
		resources /buckets/main
		upstream http://127.0.0.1:{port}/v1 {
			poll_interval 100ms
		}
	}
	reverse_proxy 127.0.0.1:{port}
}
`

// metricValue reads one sample as a number, failing when absent.
func metricValue(t testing.TB, s *testserver.Server, sample string) float64 {
	t.Helper()
	v := adminMetric(t, s, sample)
	if v == "" {
		t.Fatalf("no sample %s at /metrics", sample)
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		t.Fatalf("sample %s: %v", sample, err)
	}
	return f
}

// metricIs waits (up to 10s) until a sample has the value.
func metricIs(t *testing.T, s *testserver.Server, sample string, want float64) {
	t.Helper()
	retryUntil(t, fmt.Sprintf("%s = %g", sample, want), func() bool {
		v, err := strconv.ParseFloat(adminMetric(t, s, sample), 64)
		return err == nil && v == want
	})
}

// TestMetricsScrape drives the docstore, changesets, feeds and a sidecar,
// then scrapes the admin /metrics and checks each family's values.
func TestMetricsScrape(t *testing.T) {
	testserver.BoltOnly(t)
	sidePort := testserver.FreePort(t)
	s := testserver.Start(t, fmt.Sprintf(metricsCaddyfile, sidePort))
	v1 := s.URL() + "/v1"
	tasks := v1 + "/buckets/main/collections/tasks"

	do(t, "PUT", v1+"/buckets/main", "{}").expectStatus(t, 201)
	do(t, "PUT", tasks, "{}").expectStatus(t, 201)
	for i := range 3 {
		do(t, "PUT", fmt.Sprintf("%s/records/r%d", tasks, i), `{"data":{}}`).expectStatus(t, 201)
	}
	do(t, "GET", tasks+"/records/missing", "").expectStatus(t, 404)
	do(t, "GET", tasks+"/records", "").expectStatus(t, 200)

	metricIs(t, s, `changegate_docstore_requests_total{code="201",method="PUT",route="record"}`, 3)
	metricIs(t, s, `changegate_docstore_requests_total{code="404",method="GET",route="record"}`, 1)
	// The sidecar polls main/tasks in the same process: its reads count too.
	if n := metricValue(t, s, `changegate_docstore_requests_total{code="200",method="GET",route="records"}`); n < 1 {
		t.Fatalf("record list reads %g", n)
	}
	if n := metricValue(t, s, "changegate_docstore_write_duration_seconds_count"); n < 5 {
		t.Fatalf("write_duration_seconds_count %g, want at least the 5 writes", n)
	}
	fi, err := os.Stat(filepath.Join(s.Dir(), "data.db"))
	if err != nil {
		t.Fatal(err)
	}
	if n := metricValue(t, s, "changegate_docstore_storage_bytes"); n < 4*4096 || n > float64(fi.Size()) {
		t.Fatalf("storage_bytes %g, want a few pages and at most the file's %d bytes", n, fi.Size())
	}

	// A changeset twice: built once (a miss), then served from the cache.
	hits0 := metricValue(t, s, "changegate_changes_changeset_cache_hits_total")
	do(t, "GET", tasks+"/changeset?_expected=1", "").expectStatus(t, 200)
	do(t, "GET", tasks+"/changeset?_expected=1", "").expectStatus(t, 200)
	if n := metricValue(t, s, "changegate_changes_changeset_cache_hits_total"); n != hits0+1 {
		t.Fatalf("cache hits %g, want %g", n, hits0+1)
	}
	if n := metricValue(t, s, "changegate_changes_changeset_cache_misses_total"); n < 1 {
		t.Fatalf("cache misses %g, want at least 1", n)
	}
	if n := metricValue(t, s, "changegate_changes_changeset_build_duration_seconds_count"); n < 1 {
		t.Fatalf("changeset builds %g, want at least 1", n)
	}
	do(t, "GET", v1+"/buckets/monitor/collections/changes/changeset?_expected=0", "").expectStatus(t, 200)
	if n := metricValue(t, s, "changegate_changes_monitor_collections"); n < 1 {
		t.Fatalf("monitor_collections %g, want the monitored main/tasks", n)
	}

	// A normal feed sends the three rows.
	do(t, "GET", tasks+"/_changes", "").expectStatus(t, 200)
	metricIs(t, s, `changegate_feeds_rows_sent_total{type="normal"}`, 3)
	if n := metricValue(t, s, `changegate_feeds_bytes_sent_total{type="normal"}`); n < 100 {
		t.Fatalf("normal feed bytes %g, want its body", n)
	}

	// A longpoll waits parked until the next write answers it.
	answered := make(chan result, 1)
	go func() {
		r, err := tryDo("GET", tasks+"/_changes?feed=longpoll&since=now&timeout=10000", "")
		if err != nil {
			t.Error(err)
		}
		answered <- r
	}()
	metricIs(t, s, "changegate_feeds_parked_longpolls", 1)
	do(t, "PUT", tasks+"/records/r3", `{"data":{}}`).expectStatus(t, 201)
	if r := <-answered; r.status != 200 || !strings.Contains(r.body, `"id":"r3"`) {
		t.Fatalf("longpoll answer: %d %s", r.status, r.body)
	}
	metricIs(t, s, "changegate_feeds_parked_longpolls", 0)
	metricIs(t, s, `changegate_feeds_rows_sent_total{type="longpoll"}`, 1)

	// A continuous feed is open while its client reads, then counted as
	// a disconnect when the client goes.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var resp *http.Response
	req, _ := http.NewRequestWithContext(ctx, "GET", tasks+"/_changes?feed=continuous&since=now", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	metricIs(t, s, `changegate_feeds_open{type="continuous"}`, 1)
	do(t, "PUT", tasks+"/records/r4", `{"data":{}}`).expectStatus(t, 201)
	// An idle continuous feed opens with one empty line (CouchDB's
	// opening newline); the row follows.
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	for err == nil && line == "\n" {
		line, err = br.ReadString('\n')
	}
	if err != nil || !strings.Contains(line, `"id":"r4"`) {
		t.Fatalf("continuous row: %q %v", line, err)
	}
	cancel()
	resp.Body.Close()
	metricIs(t, s, `changegate_feeds_disconnects_total{type="continuous"}`, 1)
	metricIs(t, s, `changegate_feeds_open{type="continuous"}`, 0)
	metricIs(t, s, `changegate_feeds_rows_sent_total{type="continuous"}`, 1)

	// The sidecar polls its upstream every 100ms and succeeds (a round
	// may have failed while the upstream site was starting).
	failures := metricValue(t, s, "changegate_sidecar_poll_failures_total")
	polls := metricValue(t, s, "changegate_sidecar_polls_total")
	retryUntil(t, "sidecar polls", func() bool {
		return metricValue(t, s, "changegate_sidecar_polls_total") >= polls+3
	})
	if n := metricValue(t, s, "changegate_sidecar_poll_failures_total"); n != failures {
		t.Fatalf("poll failures went from %g to %g with the upstream up", failures, n)
	}
	if lag := metricValue(t, s, "changegate_sidecar_lag_seconds"); lag < 0 || lag > 2 {
		t.Fatalf("sidecar lag %gs, want under 2s with a 100ms poll", lag)
	}
	do(t, "GET", fmt.Sprintf("http://127.0.0.1:%d/v1/buckets/main/collections/tasks/records", sidePort), "").expectStatus(t, 200)

	// No id of a bucket or collection is a label.
	scrape := do(t, "GET", fmt.Sprintf("http://localhost:%d/metrics", s.AdminPort), "").body
	for line := range strings.Lines(scrape) {
		if strings.HasPrefix(line, "changegate_") && (strings.Contains(line, "main") || strings.Contains(line, "tasks")) {
			t.Fatalf("an id in a metric: %s", line)
		}
	}
}

// TestMetricsSidecarFailures: polls of a dead upstream count as failures
// and the lag grows.
func TestMetricsSidecarFailures(t *testing.T) {
	dead := testserver.FreePort(t)
	s := testserver.Start(t, fmt.Sprintf(changesGlobal+`:{port} {
	changes {
		resources /buckets/main
		upstream http://127.0.0.1:%d/v1 {
			poll_interval 100ms
			max_backoff 200ms
		}
	}
	reverse_proxy 127.0.0.1:%d
}
`, dead, dead))
	retryUntil(t, "failed polls", func() bool {
		return metricValue(t, s, "changegate_sidecar_poll_failures_total") >= 2
	})
	time.Sleep(time.Second)
	if lag := metricValue(t, s, "changegate_sidecar_lag_seconds"); lag < 1 {
		t.Fatalf("lag %gs with the upstream down for over a second", lag)
	}
	// Failures first: a round counts as a poll before it counts as failed.
	if f, p := metricValue(t, s, "changegate_sidecar_poll_failures_total"), metricValue(t, s, "changegate_sidecar_polls_total"); p < f {
		t.Fatalf("polls %g < failures %g", p, f)
	}
}
