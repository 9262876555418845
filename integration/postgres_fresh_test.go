package integration

import (
	"fmt"
	"sync"
	"testing"
)

// TestPostgresFreshAcrossInstances: a write acknowledged by instance A is
// in the collection changeset, the monitor changeset and the monitor's
// records list that instance B serves to a request started after the
// acknowledgement, every time, although B had those cached before the
// write and learns of it by a notification.
func TestPostgresFreshAcrossInstances(t *testing.T) {
	a, b := startPair(t)
	paths := []string{
		"/buckets/main/collections/c/changeset?_expected=0",
		monitorChangeset + "?_expected=0",
		"/buckets/monitor/collections/changes/records",
	}
	const rounds = 40
	stale := 0
	for i := range rounds {
		lm := feedsPut(t, a, "c", fmt.Sprint("r", i))
		got := make([]int64, len(paths))
		var wg sync.WaitGroup
		for j, p := range paths {
			wg.Go(func() { got[j] = servedTimestamp(t, b+p) })
		}
		wg.Wait()
		for j, ts := range got {
			if ts < lm {
				stale++
				t.Errorf("round %d: B served %s at %d after A acknowledged a write at %d", i, paths[j], ts, lm)
			}
		}
	}
	t.Logf("%d stale answers of %d", stale, rounds*len(paths))
}

// servedTimestamp returns the timestamp of main/c that a changeset or
// monitor answer shows.
func servedTimestamp(t *testing.T, url string) int64 {
	r := do(t, "GET", url, "")
	if r.status != 200 {
		t.Errorf("GET %s: %d %s", url, r.status, r.body)
		return 0
	}
	body := r.json(t)
	if ts, ok := body["timestamp"]; ok && body["metadata"].(map[string]any)["bucket"] == "main" {
		return changesNumber(t, ts)
	}
	key := "changes"
	if _, ok := body["data"]; ok {
		key = "data"
	}
	for _, e := range changesEntries(t, r.body, key) {
		if e["bucket"] == "main" && e["collection"] == "c" {
			return changesNumber(t, e["last_modified"])
		}
	}
	return 0
}
