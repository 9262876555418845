package integration

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestChangesetView mirrors the reference's ChangesetViewTest on GET
// /v1/buckets/{bid}/collections/{cid}/changeset.
func TestChangesetView(t *testing.T) {
	s, v1 := startChanges(t,
		// The reference lists every monitored collection to anyone.
		"monitor_visibility all",
		"record_cache_expires_seconds 180",
		"main.record_cache_expires_seconds 360",
		"blocklists.certificates.record_cache_expires_seconds 1234",
		"blocklists.certificates.record_cache_minimum_expires_seconds 42",
		"blocklists.certificates.record_cache_maximum_expires_seconds 3600",
		// Small enough to show the _limit bound without 10,000 records.
		"storage_max_fetch_size 5")
	records := v1 + certificates + "/records"
	changeset := v1 + certificates + "/changeset?_expected=42"
	alice := basic("alice")
	setUp := func(t *testing.T) {
		changesSetUp(t, v1)
		changesPost(t, v1, certificates, changesSample)
	}

	t.Run("changeset is accessible", func(t *testing.T) {
		setUp(t)
		recordsTS := do(t, "HEAD", records, "", alice).etag(t)
		r := do(t, "GET", changeset, "", alice).expectStatus(t, 200).
			expectHeader(t, "Content-Type", "application/json").
			expectHeader(t, "Access-Control-Expose-Headers", exposeDefault).
			changesAbsent(t, "ETag")
		collection := do(t, "GET", v1+certificates, "", alice).json(t)["data"].(map[string]any)
		list := do(t, "GET", records, "", alice).body
		want := fmt.Sprintf(`{"metadata":{"id":"certificates","last_modified":%s,"bucket":"blocklists"},"timestamp":%d,"changes":%s}`,
			collection["last_modified"], recordsTS, changesJoin(changesList(t, list, "data")))
		r.expect(t, 200, want)
		if e := changesEntries(t, r.body, "changes"); len(e) != 1 || e[0]["dev-edition"] != true {
			t.Fatalf("changes %v", e)
		}
	})
	t.Run("Last-Modified header is set", func(t *testing.T) {
		setUp(t)
		r := do(t, "GET", changeset, "", alice)
		body := r.json(t)
		meta := changesNumber(t, body["metadata"].(map[string]any)["last_modified"])
		ts := changesNumber(t, body["timestamp"])
		// Without a signer the collection object is not bumped by record
		// writes: Last-Modified is the newer of metadata and records.
		if got := changesHTTPDate(t, r.header.Get("Last-Modified")).Unix(); got != max(meta, ts)/1000 {
			t.Fatalf("Last-Modified %d, want %d", got, max(meta, ts)/1000)
		}
		time.Sleep(1100 * time.Millisecond)
		do(t, "PATCH", v1+certificates, `{"data":{"signature":"x"}}`, alice).expectStatus(t, 200)
		r = do(t, "GET", changeset, "", alice)
		meta = changesNumber(t, r.json(t)["metadata"].(map[string]any)["last_modified"])
		if got := changesHTTPDate(t, r.header.Get("Last-Modified")).Unix(); got != meta/1000 {
			t.Fatalf("Last-Modified %d after a metadata change, want %d", got, meta/1000)
		}
	})
	t.Run("changeset can be filtered", func(t *testing.T) {
		setUp(t)
		before := changesPost(t, v1, certificates, `{}`)
		changesPost(t, v1, certificates, `{}`)
		if n := len(changesList(t, do(t, "GET", changeset, "", alice).body, "changes")); n != 3 {
			t.Fatalf("%d changes, want 3", n)
		}
		if n := len(changesList(t, do(t, "GET", changeset+fmt.Sprintf(`&_since="%d"`, before), "", alice).body, "changes")); n != 1 {
			t.Fatalf("%d changes since %d, want 1", n, before)
		}
	})
	t.Run("tombstones are returned", func(t *testing.T) {
		setUp(t)
		before := do(t, "GET", records, "", alice).header.Get("ETag")
		do(t, "DELETE", records+"?_limit=1", "", alice).expectStatus(t, 200)
		e := changesEntries(t, do(t, "GET", changeset+"&_since="+before, "", alice).body, "changes")
		if len(e) != 1 || e[0]["deleted"] != true {
			t.Fatalf("changes %v", e)
		}
		if n := len(changesList(t, do(t, "GET", changeset, "", alice).body, "changes")); n != 0 {
			t.Fatalf("tombstones without _since: %d changes", n)
		}
	})
	t.Run("changeset is not publicly accessible", func(t *testing.T) {
		setUp(t)
		do(t, "GET", changeset, "").expect(t, 401, msg401).expectHeader(t, "WWW-Authenticate", `Basic realm="Realm"`)
		do(t, "GET", changeset, "", basic("bob")).expect(t, 403, msg403)
		// 401/403 come before validation, as in the reference.
		do(t, "GET", v1+certificates+"/changeset", "").expect(t, 401, msg401)
		do(t, "PATCH", v1+"/buckets/blocklists", `{"permissions":{"read":["system.Everyone"]}}`, alice).expectStatus(t, 200)
		do(t, "GET", changeset, "", basic("bob")).expectStatus(t, 200)
		do(t, "GET", changeset, "").expectStatus(t, 200)
	})
	t.Run("changeset returns 404 if collection is unknown", func(t *testing.T) {
		setUp(t)
		unknown := v1 + "/buckets/blocklists/collections/fjuvrb/changeset"
		notFound := `{"code":404,"errno":111,"error":"Not Found","message":"The resource you are looking for could not be found."}`
		do(t, "GET", unknown+"?_expected=42", "", alice).expect(t, 404, notFound)
		// Validation comes first, and the lookup leaves no trace in the
		// monitor.
		do(t, "GET", unknown, "", alice).expectStatus(t, 400)
		if n := len(changesList(t, do(t, "GET", v1+monitorRecords, "").body, "data")); n != 1 {
			t.Fatalf("%d monitor entries", n)
		}
	})
	t.Run("timestamp is validated", func(t *testing.T) {
		setUp(t)
		for _, tt := range []struct {
			since  string
			status int
		}{
			{"abc", 400}, {"42", 200}, {"42%22", 400}, {"%2242%22", 200}, {`"42"%0A`, 400},
			{`"9999999999999999999"`, 400}, {`"116137514678616060"`, 400},
			{"*)(!(objectClass=*)", 400}, {`"4102444800000"`, 200}, {`"42"`, 200},
		} {
			do(t, "GET", changeset+"&_since="+tt.since, "", alice).expectStatus(t, tt.status)
		}
		do(t, "GET", changeset+"&_since=abc", "", alice).expect(t, 400, `{"code":400,"errno":107,"error":"Invalid parameters","message":"_since in querystring: The value should be integer, optionally between double quotes.","details":[{"location":"querystring","name":"_since","description":"The value should be integer, optionally between double quotes."}]}`)
	})
	t.Run("expected param is mandatory", func(t *testing.T) {
		setUp(t)
		do(t, "GET", v1+certificates+"/changeset", "", alice).expect(t, 400, `{"code":400,"errno":107,"error":"Invalid parameters","message":"_expected in querystring: Required","details":[{"location":"querystring","name":"_expected","description":"Required"}]}`)
	})
	t.Run("limit is supported, positive and bounded", func(t *testing.T) {
		setUp(t)
		for range 6 {
			changesPost(t, v1, certificates, `{}`)
		}
		count := func(query string) int {
			return len(changesList(t, do(t, "GET", changeset+query, "", alice).expectStatus(t, 200).body, "changes"))
		}
		if n := count("&_limit=1"); n != 1 {
			t.Fatalf("_limit=1: %d", n)
		}
		if n := count("&_limit=42000"); n != 5 {
			t.Fatalf("_limit=42000 with storage_max_fetch_size 5: %d", n)
		}
		if n := count(""); n != 5 {
			t.Fatalf("no _limit: %d", n)
		}
		do(t, "GET", changeset+"&_limit=-1", "", alice).expectStatus(t, 400)
		do(t, "GET", changeset+"&_limit=36893488147419103232", "", alice).expectStatus(t, 400)
	})
	t.Run("extra param is allowed", func(t *testing.T) {
		setUp(t)
		do(t, "GET", changeset+"&_extra=abc", "", alice).expectStatus(t, 200)
	})
	t.Run("cache control", func(t *testing.T) {
		setUp(t)
		cs := v1 + certificates + "/changeset?_expected="
		do(t, "GET", cs+"1773913097658", "", alice).expectHeader(t, "Cache-Control", "max-age=3600").expectExpiresIn(t, time.Hour)
		do(t, "GET", cs+"0", "", alice).expectHeader(t, "Cache-Control", "max-age=42")
		do(t, "GET", cs+"99999996565", "", alice).expectHeader(t, "Cache-Control", "max-age=42")
		changesCreate(t, v1, "main", "cfr")
		do(t, "GET", v1+"/buckets/main/collections/cfr/changeset?_expected=0", "", alice).expectHeader(t, "Cache-Control", "max-age=360")
		changesCreate(t, v1, "blocklists", "addons")
		do(t, "GET", v1+"/buckets/blocklists/collections/addons/changeset?_expected=0", "", alice).expectHeader(t, "Cache-Control", "max-age=180")
	})
	t.Run("logs info when client is not served expected value", func(t *testing.T) {
		setUp(t)
		cs := v1 + certificates + "/changeset?_expected="
		before := strings.Count(s.Log(), "Client expected")
		for _, v := range []string{"0", "abc", "99990", "42", "%2258%22"} {
			do(t, "GET", cs+v, "", alice).expectStatus(t, 200)
		}
		time.Sleep(100 * time.Millisecond)
		log := s.Log()
		if n := strings.Count(log, "Client expected") - before; n != 2 {
			t.Fatalf("%d mismatch logs, want 2 (42 and \"58\")\n%s", n, log)
		}
		if !regexp.MustCompile(`Client expected 58 on blocklists/certificates but was served \d+ timestamp`).MatchString(log) {
			t.Fatalf("log line missing:\n%s", log)
		}
	})
}

// TestMonitorChangesetView mirrors the reference's
// MonitorChangesetViewTest.
func TestMonitorChangesetView(t *testing.T) {
	// The reference lists every monitored collection to anyone.
	_, v1 := startChanges(t, "since_max_age_days 1", "monitor_visibility all")
	changeset := v1 + monitorChangeset + "?_expected=42"
	setUp := func(t *testing.T) {
		changesSetUp(t, v1)
		changesCreate(t, v1, "blocklists", "cfr")
		changesPost(t, v1, "/buckets/blocklists/collections/cfr", changesSample)
		time.Sleep(10 * time.Millisecond)
		changesPost(t, v1, certificates, changesSample)
	}
	t.Run("changeset exists for monitor changes", func(t *testing.T) {
		setUp(t)
		ts := do(t, "HEAD", v1+certificates+"/records", "", basic("alice")).etag(t)
		r := do(t, "GET", changeset, "").expectStatus(t, 200)
		body := r.json(t)
		e := changesEntries(t, r.body, "changes")
		if changesNumber(t, body["timestamp"]) != ts || len(e) != 2 || e[0]["collection"] != "certificates" {
			t.Fatalf("monitor %s, records timestamp %d", r.body, ts)
		}
		if fmt.Sprint(body["metadata"]) != "map[bucket:monitor]" {
			t.Fatalf("metadata %v", body["metadata"])
		}
		r.expectHeader(t, "Last-Modified", httpDate(ts)).changesAbsent(t, "ETag", "Cache-Control")
	})
	t.Run("changeset redirects if since is too old", func(t *testing.T) {
		setUp(t)
		do(t, "GET", changeset+`&_since="42"`, "").expectStatus(t, 307).
			expectHeader(t, "Location", "https://www.kinto-storage.org/v1/buckets/monitor/collections/changes/changeset?_expected=42").
			expectHeader(t, "Cache-Control", "max-age=86400")
	})
	t.Run("changeset bad request if rewind", func(t *testing.T) {
		setUp(t)
		do(t, "GET", changeset+`&_since="43"`, "").expect(t, 204, "").expectHeader(t, "Cache-Control", "max-age=86400")
	})
	t.Run("limit is supported", func(t *testing.T) {
		setUp(t)
		if n := len(changesList(t, do(t, "GET", changeset+"&_limit=1", "").body, "changes")); n != 1 {
			t.Fatalf("%d changes", n)
		}
	})
	t.Run("filter by collection", func(t *testing.T) {
		setUp(t)
		e := changesEntries(t, do(t, "GET", changeset+"&bucket=blocklists&collection=cfr", "").body, "changes")
		if len(e) != 1 || e[0]["collection"] != "cfr" {
			t.Fatalf("changes %v", e)
		}
	})
	t.Run("entries are sorted by timestamp desc", func(t *testing.T) {
		setUp(t)
		if e := changesEntries(t, do(t, "GET", changeset, "").body, "changes"); e[0]["collection"] != "certificates" {
			t.Fatalf("first %v", e[0])
		}
		changesPost(t, v1, "/buckets/blocklists/collections/cfr", changesSample)
		if e := changesEntries(t, do(t, "GET", changeset, "").body, "changes"); e[0]["collection"] != "cfr" {
			t.Fatalf("first %v", e[0])
		}
	})
	t.Run("bad querystring", func(t *testing.T) {
		setUp(t)
		do(t, "GET", v1+monitorChangeset, "").expect(t, 400, `{"code":400,"errno":107,"error":"Invalid parameters","message":"_expected in querystring: Required","details":[{"location":"querystring","name":"_expected","description":"Required"}]}`)
		// Validation comes before the redirects.
		do(t, "GET", changeset+"&_since=abc", "").expectStatus(t, 400)
		do(t, "GET", v1+monitorChangeset+`?_expected="1"&_limit=x`, "").expectStatus(t, 400)
	})
}
