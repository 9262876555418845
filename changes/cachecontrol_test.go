package changes

import (
	"net/http"
	"reflect"
	"testing"
	"time"

	"github.com/changegate/changegate/kinto"
)

// TestChangesetCacheTTL mirrors the reference's cache tests
// (ChangesetViewTest and CacheExpiresTest settings).
func TestChangesetCacheTTL(t *testing.T) {
	settings := map[string]int{
		"record_cache_expires_seconds":                                 180,
		"main.record_cache_expires_seconds":                            360,
		"blocklists.certificates.record_cache_expires_seconds":         1234,
		"blocklists.certificates.record_cache_minimum_expires_seconds": 42,
		"blocklists.certificates.record_cache_maximum_expires_seconds": 3600,
		"monitor.changes.record_cache_expires_seconds":                 60,
		"monitor.changes.record_cache_maximum_expires_seconds":         3600,
	}
	ttl, err := parseTTLs(settings)
	if err != nil {
		t.Fatal(err)
	}
	certs := kinto.Key{Bucket: "blocklists", Collection: "certificates"}
	tests := []struct {
		key      kinto.Key
		expected string
		want     int
	}{
		{certs, "1773913097658", 3600},
		{certs, "0", 42},
		{certs, "99999996565", 42},
		{certs, "", 1234},
		{certs, `"42"`, 3600},
		{kinto.Key{Bucket: "main", Collection: "cfr"}, "0", 360},
		{kinto.Key{Bucket: "blocklists", Collection: "addons"}, "0", 180},
		{monitorKey, "", 60},
		{monitorKey, "1700000000001", 3600},
		{monitorKey, "0", 60},
	}
	for _, tt := range tests {
		got, ok := ttl.pick(tt.key, tt.expected)
		if !ok || got != tt.want {
			t.Errorf("%v _expected=%q: %d %v, want %d", tt.key, tt.expected, got, ok, tt.want)
		}
	}
	none, _ := parseTTLs(nil)
	if _, ok := none.pick(certs, "42"); ok {
		t.Error("a TTL without any setting")
	}
}

func TestChangesetCacheSettingsRefused(t *testing.T) {
	for _, name := range []string{
		"record_cache_minimum_expires_seconds",
		"main.record_cache_maximum_expires_seconds",
		"a.b.c.record_cache_expires_seconds",
		"cache_expires_seconds",
	} {
		if _, err := parseTTLs(map[string]int{name: 1}); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	if _, err := parseTTLs(map[string]int{"record_cache_expires_seconds": -1}); err == nil {
		t.Error("negative TTL accepted")
	}
}

// TestChangesCacheExpiresHeaders checks WebOb's cache_expires, including
// its zero case.
func TestChangesCacheExpiresHeaders(t *testing.T) {
	now := time.Date(2026, 11, 22, 3, 35, 42, 500e6, time.UTC)
	tests := []struct {
		before  http.Header
		seconds int
		want    http.Header
	}{
		{http.Header{}, 86400, http.Header{
			"Cache-Control": {"max-age=86400"}, "Expires": {"Mon, 23 Nov 2026 03:35:42 GMT"},
		}},
		{http.Header{"Cache-Control": {"no-cache, no-store"}, "Pragma": {"x"}}, 60, http.Header{
			"Cache-Control": {"max-age=60"}, "Expires": {"Sun, 22 Nov 2026 03:36:42 GMT"},
		}},
		{http.Header{}, 0, http.Header{
			"Cache-Control": {"no-store, no-cache, must-revalidate, max-age=0, post-check=0, pre-check=0"},
			"Expires":       {"Sun, 22 Nov 2026 03:35:42 GMT"}, "Last-Modified": {"Sun, 22 Nov 2026 03:35:42 GMT"},
			"Pragma": {"no-cache"},
		}},
		{http.Header{"Cache-Control": {"no-cache, no-store"}, "Last-Modified": {"x"}}, 0, http.Header{
			"Cache-Control": {"no-cache, no-store, must-revalidate, max-age=0, post-check=0, pre-check=0"},
			"Expires":       {"Sun, 22 Nov 2026 03:35:42 GMT"}, "Last-Modified": {"x"}, "Pragma": {"no-cache"},
		}},
	}
	for _, tt := range tests {
		setCacheExpires(tt.before, tt.seconds, now)
		if !reflect.DeepEqual(tt.before, tt.want) {
			t.Errorf("cache_expires(%d):\n got %v\nwant %v", tt.seconds, tt.before, tt.want)
		}
	}
}
