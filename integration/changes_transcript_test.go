package integration

import (
	"fmt"
	"strings"
	"testing"

	"github.com/changegate/changegate/changes"
	"github.com/changegate/changegate/internal/testserver"
)

// changesTranscriptConfig is the reference transcripts' server: main
// monitored, http_host the server itself, anonymous bucket creation, the
// monitor listing every collection to anyone.
const changesTranscriptConfig = changesGlobal + `:{port} {
	changes {
		resources /buckets/main
		monitor_visibility all
		http_host 127.0.0.1:{port}
		http_scheme http
	}
	docstore {
		storage bolt {dir}/data.db
		userid_hmac_secret test-secret-of-16-bytes
		bucket_create_principals system.Everyone
		flush_endpoint
	}
}
`

// TestChangesTranscript replays the reference transcripts 7-9, 14, 38-64
// and 69 (recorded from Kinto 26.3 with the changes plugin) and checks statuses,
// headers and exact bodies, with our timestamps and ids put in. One
// deliberate difference: transcript 44's memory-backend side effect (a
// changeset of an unknown collection creating a monitor entry) does not
// happen here, so a second collection, main/b, is written instead to
// give the monitor the same two entries.
func TestChangesTranscript(t *testing.T) {
	s := testserver.Start(t, changesTranscriptConfig)
	v1 := s.URL() + "/v1"
	host := strings.TrimPrefix(s.URL(), "http://")
	user := basic("user")
	records := v1 + monitorRecords
	monitor := v1 + monitorChangeset

	// [7] [8] [9] empty monitor.
	r := do(t, "GET", records, "").expect(t, 200, `{"data":[]}`).
		expectHeader(t, "Access-Control-Expose-Headers", exposePluralRead).
		expectHeader(t, "Cache-Control", "no-cache, no-store").
		expectHeader(t, "Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'; base-uri 'none';").
		expectHeader(t, "X-Content-Type-Options", "nosniff")
	r.expectHeader(t, "Last-Modified", httpDate(r.etag(t)))
	r = do(t, "GET", monitor+"?_expected=0", "").expectStatus(t, 200).
		expectHeader(t, "Access-Control-Expose-Headers", exposeDefault).changesAbsent(t, "Cache-Control", "ETag")
	now := changesNumber(t, r.json(t)["timestamp"])
	r.expect(t, 200, fmt.Sprintf(`{"metadata":{"bucket":"monitor"},"timestamp":%d,"changes":[]}`, now)).
		expectHeader(t, "Last-Modified", httpDate(now))
	required := `{"code":400,"errno":107,"error":"Invalid parameters","message":"_expected in querystring: Required","details":[{"location":"querystring","name":"_expected","description":"Required"}]}`
	do(t, "GET", monitor, "").expect(t, 400, required).expectHeader(t, "Access-Control-Expose-Headers", exposeDefault)

	// [11] [13] [14] an empty collection has no entry.
	do(t, "PUT", v1+"/buckets/main", `{"data":{}}`, user).expectStatus(t, 201)
	do(t, "PUT", v1+"/buckets/main/collections/a", `{"data":{"title":"A"}}`, user).expectStatus(t, 201)
	do(t, "GET", records, "").expect(t, 200, `{"data":[]}`)

	// [15]-[37] records, an update and a deletion.
	ts1 := do(t, "PUT", v1+"/buckets/main/collections/a/records/r1", `{"data":{"title":"one","n":1}}`, user).expectStatus(t, 201).etag(t)
	do(t, "POST", v1+"/buckets/main/collections/a/records", `{"data":{"title":"two","n":2}}`, user).expectStatus(t, 201)
	do(t, "PUT", v1+"/buckets/main/collections/a/records/r3", `{"data":{"title":"three"},"permissions":{"read":["system.Everyone"]}}`, user).expectStatus(t, 201)
	do(t, "PATCH", v1+"/buckets/main/collections/a/records/r1", `{"data":{"n":10}}`, user).expectStatus(t, 200)
	do(t, "DELETE", v1+"/buckets/main/collections/a/records/r3", "", user).expectStatus(t, 200)

	list := func(query string) string {
		return changesJoin(changesList(t, do(t, "GET", v1+"/buckets/main/collections/a/records"+query, "", user).body, "data"))
	}
	meta := do(t, "GET", v1+"/buckets/main/collections/a", "", user).json(t)["data"].(map[string]any)
	metaJSON := fmt.Sprintf(`{"title":"A","id":"a","last_modified":%s,"bucket":"main"}`, meta["last_modified"])
	recordsTS := do(t, "HEAD", v1+"/buckets/main/collections/a/records", "", user).etag(t)
	changeset := func(changes string) string {
		return fmt.Sprintf(`{"metadata":%s,"timestamp":%d,"changes":%s}`, metaJSON, recordsTS, changes)
	}
	cs := v1 + "/buckets/main/collections/a/changeset"

	// [38] [39] [40] [41] [42] [43] [44] collection changesets.
	do(t, "GET", cs+"?_expected=1", "", user).expect(t, 200, changeset(list(""))).
		expectHeader(t, "Last-Modified", httpDate(recordsTS)).
		expectHeader(t, "Access-Control-Expose-Headers", exposeDefault).changesAbsent(t, "ETag", "Cache-Control")
	do(t, "GET", cs+"?_expected=1", "").expect(t, 401, msg401).
		expectHeader(t, "WWW-Authenticate", `Basic realm="Realm"`).expectHeader(t, "Access-Control-Expose-Headers", exposeDefault)
	withTombstone := list(fmt.Sprintf("?_since=%d", ts1))
	if !strings.Contains(withTombstone, `"id":"r3","last_modified":`+fmt.Sprint(recordsTS)+`,"deleted":true}`) {
		t.Fatalf("no tombstone in %s", withTombstone)
	}
	do(t, "GET", cs+fmt.Sprintf("?_expected=1&_since=%d", ts1), "", user).expect(t, 200, changeset(withTombstone))
	do(t, "GET", cs+"?_expected=1&_limit=1", "", user).expect(t, 200, changeset(list("?_limit=1")))
	do(t, "GET", cs, "", user).expect(t, 400, required)
	do(t, "GET", cs+"?_expected=1&_since=abc", "", user).expect(t, 400, `{"code":400,"errno":107,"error":"Invalid parameters","message":"_since in querystring: The value should be integer, optionally between double quotes.","details":[{"location":"querystring","name":"_since","description":"The value should be integer, optionally between double quotes."}]}`)
	do(t, "GET", v1+"/buckets/main/collections/unknown/changeset?_expected=1", "", user).
		expect(t, 404, `{"code":404,"errno":111,"error":"Not Found","message":"The resource you are looking for could not be found."}`)
	do(t, "PUT", v1+"/buckets/main/collections/b", `{}`, user).expectStatus(t, 201)
	mts := do(t, "POST", v1+"/buckets/main/collections/b/records", `{"data":{}}`, user).expectStatus(t, 201).etag(t)

	entry := func(collection string, ts int64) string {
		return fmt.Sprintf(`{"id":"%s","last_modified":%d,"bucket":"main","collection":"%s","host":"%s"}`,
			changes.EntryID(host, "main", collection), ts, collection, host)
	}
	both := "[" + entry("b", mts) + "," + entry("a", recordsTS) + "]"
	newest := "[" + entry("b", mts) + "]"

	// [45]-[50] and [60] [61] the legacy list.
	r = do(t, "GET", records, "").expect(t, 200, `{"data":`+both+`}`).
		expectHeader(t, "ETag", changesQuoted(mts)).expectHeader(t, "Last-Modified", httpDate(mts)).
		expectHeader(t, "Cache-Control", "no-cache, no-store").expectHeader(t, "Access-Control-Expose-Headers", exposePluralRead)
	do(t, "GET", records, "", "If-None-Match: "+changesQuoted(mts)).expect(t, 200, `{"data":[]}`).
		expectHeader(t, "ETag", changesQuoted(mts)).expectHeader(t, "Cache-Control", "no-cache, no-store")
	do(t, "GET", records+fmt.Sprintf("?_since=%d", mts-1), "").expect(t, 200, `{"data":`+newest+`}`)
	do(t, "GET", records+"?bucket=main", "").expect(t, 200, `{"data":`+both+`}`)
	do(t, "GET", records+fmt.Sprintf("?_expected=1&_since=%d", mts), "").expect(t, 204, "").
		expectHeader(t, "Cache-Control", "max-age=86400").expectExpiresIn(t, 86400e9).
		expectHeader(t, "Access-Control-Expose-Headers", exposePluralRead).changesAbsent(t, "Content-Type", "ETag")
	location := fmt.Sprintf("http://%s/v1/buckets/monitor/collections/changes/records", host)
	do(t, "GET", records+"?_since=42", "").expect(t, 307, changesRedirectBody(location)).
		expectHeader(t, "Location", location).expectHeader(t, "Cache-Control", "max-age=86400").
		expectHeader(t, "Content-Type", "text/html; charset=UTF-8").expectExpiresIn(t, 86400e9)
	do(t, "GET", records+fmt.Sprintf("?_expected=%d", mts), "").expect(t, 200, `{"data":`+both+`}`)
	r = do(t, "GET", records+"?_limit=1", "").expect(t, 200, `{"data":`+newest+`}`)
	if next := r.header.Get("Next-Page"); !strings.HasPrefix(next, location+"?_limit=1&_token=") {
		t.Fatalf("Next-Page %q", next)
	}
	do(t, "GET", r.header.Get("Next-Page"), "").expect(t, 200, `{"data":[`+entry("a", recordsTS)+`]}`).changesAbsent(t, "Next-Page")
	do(t, "GET", records+"?_limit=1&_fields=bucket", "").expect(t, 200, fmt.Sprintf(`{"data":[{"bucket":"main","id":"%s","last_modified":%d}]}`, changes.EntryID(host, "main", "b"), mts))
	do(t, "GET", records+"?foo=bar", "").expect(t, 400, `{"code":400,"errno":107,"error":"Invalid parameters","message":"Unknown filter field 'foo'","details":[{"location":"querystring","name":"foo","description":"Unknown filter field 'foo'"}]}`)

	// [51]-[59] [62] the monitor changeset.
	monitorBody := func(list string) string {
		return fmt.Sprintf(`{"metadata":{"bucket":"monitor"},"timestamp":%d,"changes":%s}`, mts, list)
	}
	do(t, "GET", monitor+"?_expected=0", "").expect(t, 200, monitorBody(both)).expectHeader(t, "Last-Modified", httpDate(mts))
	do(t, "GET", monitor+fmt.Sprintf("?_expected=%d", mts), "").expect(t, 200, monitorBody(both))
	do(t, "GET", monitor+fmt.Sprintf("?_expected=%d&_since=%d", mts, mts-1), "").expect(t, 200, monitorBody(newest))
	unquoted := fmt.Sprintf("http://%s/v1/buckets/monitor/collections/changes/changeset?_expected=%d", host, mts)
	do(t, "GET", monitor+fmt.Sprintf(`?_expected="%d"`, mts), "").expect(t, 307, changesRedirectBody(unquoted)).
		expectHeader(t, "Location", unquoted).changesAbsent(t, "Cache-Control", "Expires")
	do(t, "GET", monitor+fmt.Sprintf("?_expected=1&_since=%d", mts), "").expect(t, 204, "").
		expectHeader(t, "Cache-Control", "max-age=86400").expectHeader(t, "Access-Control-Expose-Headers", exposeDefault)
	dropped := fmt.Sprintf("http://%s/v1/buckets/monitor/collections/changes/changeset?_expected=0", host)
	do(t, "GET", monitor+"?_expected=0&_since=42", "").expect(t, 307, changesRedirectBody(dropped)).
		expectHeader(t, "Location", dropped).expectHeader(t, "Cache-Control", "max-age=86400")
	do(t, "GET", monitor+"?_expected=0&bucket=main&collection=a", "").expect(t, 200, monitorBody("["+entry("a", recordsTS)+"]"))
	do(t, "GET", monitor+"?_expected=0&_limit=1", "").expect(t, 200, monitorBody(newest))
	do(t, "GET", monitor+fmt.Sprintf(`?_expected=0&_since="%d"`, mts-1), "").expect(t, 200, monitorBody(newest))
	do(t, "GET", monitor+"?_expected=0&foo=bar", "").expect(t, 200, monitorBody(both))

	// [63] [64] the monitor bucket is the docstore's; the broadcast.
	do(t, "GET", v1+"/buckets/monitor", "").expect(t, 401, msg401)
	do(t, "GET", v1+"/__broadcasts__", "").expect(t, 200, fmt.Sprintf(`{"broadcasts":{"remote-settings/monitor_changes":"\"%d\""},"code":200}`, mts)).
		expectHeader(t, "Access-Control-Expose-Headers", exposeDefault)

	// [68] [69] deleting a collection removes its entry.
	do(t, "DELETE", v1+"/buckets/main/collections/a", "", user).expectStatus(t, 200)
	do(t, "GET", records, "").expect(t, 200, `{"data":`+newest+`}`).expectHeader(t, "ETag", changesQuoted(mts))

	// [70] other methods.
	do(t, "POST", cs+"?_expected=1", "").expect(t, 405, `{"code":405,"errno":115,"error":"Method Not Allowed","message":"Method not allowed on this endpoint."}`).
		expectHeader(t, "Allow", "GET, HEAD, OPTIONS").changesAbsent(t, "Access-Control-Expose-Headers")
	do(t, "OPTIONS", cs, "", "Origin: http://x", "Access-Control-Request-Method: GET").expectStatus(t, 200)
	do(t, "GET", records, "", "Origin: http://x").expectHeader(t, "Access-Control-Allow-Origin", "*")
}

// changesRedirectBody is Pyramid's 307 body.
func changesRedirectBody(location string) string {
	location = strings.ReplaceAll(location, "&", "&amp;")
	return "<html>\n <head>\n  <title>307 Temporary Redirect</title>\n </head>\n <body>\n  <h1>307 Temporary Redirect</h1>\n" +
		"  The resource has been moved to " + location + "; you should be redirected automatically.\n\n\n </body>\n</html>"
}
