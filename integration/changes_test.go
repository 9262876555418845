package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

const changesSample = `{"dev-edition":true}`

// TestChangesRecords mirrors the reference's UpdateChangesTest on GET
// /v1/buckets/monitor/collections/changes/records, through a real server.
func TestChangesRecords(t *testing.T) {
	s, v1 := startChanges(t)
	changes := v1 + monitorRecords
	setUp := func(t *testing.T) {
		changesSetUp(t, v1)
		changesPost(t, v1, certificates, changesSample)
	}
	first := func(t *testing.T) map[string]any {
		t.Helper()
		entries := changesEntries(t, do(t, "GET", changes, "").expectStatus(t, 200).body, "data")
		if len(entries) != 1 {
			t.Fatalf("%d entries, want 1: %v", len(entries), entries)
		}
		return entries[0]
	}

	t.Run("parent bucket and collection don't have to exist", func(t *testing.T) {
		setUp(t)
		for _, p := range []string{"/buckets/monitor/collections/changes", "/buckets/monitor"} {
			if r := do(t, "DELETE", v1+p, "", basic("alice")); r.status != 403 && r.status != 404 {
				t.Fatalf("DELETE %s: %d", p, r.status)
			}
			first(t)
		}
	})
	t.Run("parent bucket and collection can exist", func(t *testing.T) {
		setUp(t)
		do(t, "PUT", v1+"/buckets/monitor", "", basic("alice")).expectStatus(t, 201)
		first(t)
		do(t, "PUT", v1+"/buckets/monitor/collections/changes", "", basic("alice")).expectStatus(t, 201)
		first(t)
	})
	t.Run("a change record is updated per bucket collection", func(t *testing.T) {
		setUp(t)
		before := first(t)
		changesPost(t, v1, certificates, changesSample)
		after := first(t)
		if before["id"] != after["id"] || before["last_modified"] == after["last_modified"] {
			t.Fatalf("before %v, after %v", before, after)
		}
	})
	// unmonitored writes to bucket/collection and checks the entry did
	// not change.
	unmonitored := func(t *testing.T, bucket, collection string) {
		setUp(t)
		before := first(t)
		changesCreate(t, v1, bucket, collection)
		changesPost(t, v1, "/buckets/"+bucket+"/collections/"+collection, changesSample)
		if after := first(t); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Fatalf("before %v, after %v", before, after)
		}
	}
	t.Run("only collections specified in settings are monitored", func(t *testing.T) {
		unmonitored(t, "blocklists-other", "not-monitored")
	})
	t.Run("excluded collections are not monitored", func(t *testing.T) {
		unmonitored(t, "blocklists", "excluded")
	})
	t.Run("returns 200 with empty list of changes if no change occurred", func(t *testing.T) {
		setUp(t)
		etag := do(t, "GET", changes, "").header.Get("ETag")
		do(t, "GET", changes+"?_since="+etag, "").expect(t, 200, `{"data":[]}`)
		do(t, "GET", changes, "", "If-None-Match: "+etag).expect(t, 200, `{"data":[]}`).
			expectHeader(t, "ETag", etag).expectHeader(t, "Cache-Control", "no-cache, no-store")
	})
	t.Run("returns 412 with If-None-Match star", func(t *testing.T) {
		setUp(t)
		r := do(t, "GET", changes, "", "If-None-Match: *")
		r.expect(t, 412, `{"code":412,"errno":114,"error":"Precondition Failed","message":"Resource was modified meanwhile"}`).
			expectHeader(t, "ETag", do(t, "GET", changes, "").header.Get("ETag"))
	})
	t.Run("no cache control is returned if not configured", func(t *testing.T) {
		setUp(t)
		do(t, "GET", changes, "").expectHeader(t, "Cache-Control", "no-cache, no-store").changesAbsent(t, "Expires")
		do(t, "GET", changes+`?_expected="42"`, "").expectHeader(t, "Cache-Control", "no-cache, no-store")
	})
	t.Run("change record has greater last_modified of collection of records", func(t *testing.T) {
		setUp(t)
		ts := changesPost(t, v1, certificates, changesSample)
		if got := changesNumber(t, first(t)["last_modified"]); got < ts {
			t.Fatalf("entry %d < record %d", got, ts)
		}
	})
	t.Run("record with old timestamp does update changes", func(t *testing.T) {
		setUp(t)
		changesPost(t, v1, certificates, changesSample)
		changesPost(t, v1, certificates, `{"dev-edition":true,"last_modified":42}`)
		if got := changesNumber(t, first(t)["last_modified"]); got == 42 {
			t.Fatal("entry took the client's old timestamp")
		}
	})
	t.Run("change record has server host, bucket and collection attributes", func(t *testing.T) {
		setUp(t)
		e := first(t)
		if e["host"] != "www.kinto-storage.org" || e["bucket"] != "blocklists" || e["collection"] != "certificates" {
			t.Fatalf("entry %v", e)
		}
	})
	t.Run("changes capability exposed", func(t *testing.T) {
		caps := do(t, "GET", v1+"/", "").json(t)["capabilities"].(map[string]any)
		got := fmt.Sprint(caps["changes"])
		want := "map[collections:[/buckets/blocklists] description:Track modifications of records in Kinto and store the collection timestamps into a specific bucket and collection. url:http://kinto.readthedocs.io/en/latest/tutorials/synchronisation.html#polling-for-remote-changes version:0.1.0]"
		if got != want {
			t.Fatalf("capability %s", got)
		}
	})

	// The reference patches its settings; here the config is reloaded,
	// which also shows settings changing across a reload.
	t.Run("the resource configured can be a collection URI", func(t *testing.T) {
		setUp(t)
		changesCreate(t, v1, "blocklists", "other")
		changesPost(t, v1, "/buckets/blocklists/collections/other", changesSample)
		if n := len(changesEntries(t, do(t, "GET", changes, "").body, "data")); n != 2 {
			t.Fatalf("%d entries before reload", n)
		}
		changesReload(t, s, strings.Replace(changesConfig(), "resources /buckets/blocklists", "resources /buckets/blocklists/collections/certificates", 1))
		e := first(t)
		if e["collection"] != "certificates" {
			t.Fatalf("entry %v", e)
		}
		caps := do(t, "GET", v1+"/", "").json(t)["capabilities"].(map[string]any)
		if got := fmt.Sprint(caps["changes"].(map[string]any)["collections"]); got != "[/buckets/blocklists/collections/certificates]" {
			t.Fatalf("capability collections after reload: %s", got)
		}
	})
	t.Run("returns empty list if no resource configured", func(t *testing.T) {
		setUp(t)
		changesReload(t, s, strings.Replace(changesConfig(), "resources /buckets/blocklists\n", "", 1))
		do(t, "GET", changes, "").expect(t, 200, `{"data":[]}`)
		caps := do(t, "GET", v1+"/", "").json(t)["capabilities"].(map[string]any)
		if got := fmt.Sprint(caps["changes"].(map[string]any)["collections"]); got != "[]" {
			t.Fatalf("capability collections: %s", got)
		}
		changesReload(t, s, changesConfig())
	})
}

// changesReload loads a new Caddyfile into a running server.
func changesReload(t *testing.T, s interface{ Reload(string) error }, caddyfile string) {
	t.Helper()
	if err := s.Reload(caddyfile); err != nil {
		t.Fatal(err)
	}
	// Caddy closes the old config's idle keep-alive connections after a
	// reload; one reused at that moment fails with EOF, which Go's
	// client retries only for idempotent methods (a PATCH would fail).
	client.CloseIdleConnections()
}

// TestChangesCacheExpires mirrors CacheExpiresTest.
func TestChangesCacheExpires(t *testing.T) {
	_, v1 := startChanges(t,
		"monitor.changes.record_cache_expires_seconds 60",
		"monitor.changes.record_cache_maximum_expires_seconds 3600")
	changesSetUp(t, v1)
	changes := v1 + monitorRecords
	hourAgo := time.Now().UnixMilli() - 3600
	do(t, "GET", changes, "").expectStatus(t, 200).expectHeader(t, "Cache-Control", "max-age=60").expectExpiresIn(t, 60*time.Second)
	do(t, "GET", changes+fmt.Sprintf("?_since=%d&_expected=%d", hourAgo, hourAgo+1), "").expectHeader(t, "Cache-Control", "max-age=3600")
	do(t, "GET", changes+fmt.Sprintf("?_since=%d", hourAgo), "").expectHeader(t, "Cache-Control", "max-age=60")
	do(t, "GET", changes+fmt.Sprintf(`?_since="%d"`, hourAgo), "", "If-None-Match: "+changesQuoted(hourAgo)).
		expectHeader(t, "Cache-Control", "max-age=60")
}

// TestChangesOldSinceRedirect mirrors OldSinceRedirectTest.
func TestChangesOldSinceRedirect(t *testing.T) {
	_, v1 := startChanges(t, "since_max_age_days 2", "changes_http_host cdn-host")
	changesSetUp(t, v1)
	changes := v1 + monitorRecords
	days := func(n int) int64 { return time.Now().Add(-time.Duration(n) * 24 * time.Hour).UnixMilli() }

	r := do(t, "GET", changes+"?_since=42", "").expectStatus(t, 307).
		expectHeader(t, "Location", "https://cdn-host/v1/buckets/monitor/collections/changes/records").
		expectHeader(t, "Cache-Control", "max-age=86400").
		expectHeader(t, "Content-Type", "text/html; charset=UTF-8").
		expectHeader(t, "Access-Control-Expose-Headers", exposePluralRead).
		expectExpiresIn(t, 86400*time.Second)
	if !strings.Contains(r.body, "The resource has been moved to https://cdn-host/v1/buckets/monitor/collections/changes/records;") {
		t.Fatalf("redirect body %s", r.body)
	}
	do(t, "GET", changes+fmt.Sprintf("?_since=%d", days(3)), "").expectStatus(t, 307)
	do(t, "GET", changes+"?_since=42&_expected=1", "").expect(t, 204, "").
		expectHeader(t, "Cache-Control", "max-age=86400").changesAbsent(t, "Content-Type")
	do(t, "GET", changes+"?_since=42&_foo=%22123456%22", "").expectStatus(t, 307).
		expectHeader(t, "Location", "https://cdn-host/v1/buckets/monitor/collections/changes/records?_foo=%22123456%22")
	do(t, "GET", changes+fmt.Sprintf("?_since=%d", days(1)), "").expectStatus(t, 200)
}

// TestChangesetUnquoteExpectedRedirect mirrors UnquoteExpectedRedirectTest.
func TestChangesetUnquoteExpectedRedirect(t *testing.T) {
	_, v1 := startChanges(t, "changes_http_host cdn-host")
	for _, value := range []string{"%2242%22", "42%22", "%2242"} {
		do(t, "GET", v1+monitorChangeset+"?_expected="+value, "").expectStatus(t, 307).
			expectHeader(t, "Location", "https://cdn-host/v1/buckets/monitor/collections/changes/changeset?_expected=42").
			changesAbsent(t, "Cache-Control", "Expires")
	}
}
