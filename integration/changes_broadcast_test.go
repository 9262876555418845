package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// changesBroadcast reads the published monitor version.
func changesBroadcast(t *testing.T, v1 string) string {
	t.Helper()
	body := do(t, "GET", v1+"/__broadcasts__", "").expectStatus(t, 200).
		expectHeader(t, "Content-Type", "application/json").body
	var ts int64
	if _, err := fmt.Sscanf(body, `{"broadcasts":{"remote-settings/monitor_changes":"\"%d\""},"code":200}`, &ts); err != nil {
		t.Fatalf("broadcast body %s", body)
	}
	return fmt.Sprint(ts)
}

// TestBroadcastsDebounce: /__broadcasts__ publishes the newest monitored
// timestamp outside -preview collections, at most once per debounce
// interval, through a real server.
func TestBroadcastsDebounce(t *testing.T) {
	// The reference publishes changes of every monitored collection.
	cfg := strings.Replace(changesConfig("monitor_visibility all"), "resources /buckets/blocklists", "resources /buckets/main /buckets/main-preview", 1)
	s, v1 := startChanges(t)
	changesReload(t, s, cfg)
	changesCreate(t, v1, "main", "a")
	first := fmt.Sprint(changesPost(t, v1, "/buckets/main/collections/a", `{}`))
	if got := changesBroadcast(t, v1); got != first {
		t.Fatalf("first broadcast %s, want %s", got, first)
	}
	// Within the default 300 s, a new change is not published yet.
	second := fmt.Sprint(changesPost(t, v1, "/buckets/main/collections/a", `{}`))
	if got := changesBroadcast(t, v1); got != first {
		t.Fatalf("debounced broadcast %s, want %s", got, first)
	}

	// Without debounce: a second later the debounced change is published,
	// and not a newer one in a -preview bucket.
	changesReload(t, s, strings.Replace(cfg, "http_host www.kinto-storage.org", "http_host www.kinto-storage.org\n\t\tpush_broadcast_min_debounce_interval_seconds 0", 1))
	time.Sleep(1100 * time.Millisecond)
	changesCreate(t, v1, "main-preview", "a")
	changesPost(t, v1, "/buckets/main-preview/collections/a", `{}`)
	if got := changesBroadcast(t, v1); got != second {
		t.Fatalf("after a preview change %s, want %s", got, second)
	}
	time.Sleep(1100 * time.Millisecond)
	changesCreate(t, v1, "main", "b")
	latest := fmt.Sprint(changesPost(t, v1, "/buckets/main/collections/b", `{}`))
	if got := changesBroadcast(t, v1); got != latest {
		t.Fatalf("broadcast %s, want the newest %s", got, latest)
	}
}
