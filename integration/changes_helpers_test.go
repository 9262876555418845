package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/changegate/changegate/internal/testserver"
)

// changesCaddyfile is the reference plugin's test fixture (tests/changes/
// config.ini): basic auth, blocklists monitored, blocklists/excluded left
// out, the old-_since redirect off, http_host www.kinto-storage.org, and
// the monitor listing every collection to anyone as the reference does.
// extra goes into the changes block.
const changesCaddyfile = changesGlobal + `:{port} {
	changes {
		resources /buckets/blocklists
		monitor_visibility all
		excluded_collections /buckets/blocklists/collections/excluded
		since_max_age_days -1
		http_host www.kinto-storage.org
		%s
	}
	docstore {
		storage bolt {dir}/data.db
		userid_hmac_secret test-secret-of-16-bytes
		flush_endpoint
	}
}
`

// changesGlobal are the global options of every test server.
const changesGlobal = `{
	admin localhost:{admin}
	http_port {port}
	auto_https off
	persist_config off
}
`

// startChanges runs a changegate with the fixture and extra changes
// settings, and returns it with its /v1 URL.
func startChanges(t *testing.T, extra ...string) (*testserver.Server, string) {
	t.Helper()
	s := testserver.Start(t, changesConfig(extra...))
	return s, s.URL() + "/v1"
}

// changesConfig is the fixture Caddyfile with extra changes settings.
func changesConfig(extra ...string) string {
	return fmt.Sprintf(changesCaddyfile, strings.Join(extra, "\n\t\t"))
}

// Reference fixture paths.
const (
	monitorRecords   = "/buckets/monitor/collections/changes/records"
	monitorChangeset = "/buckets/monitor/collections/changes/changeset"
	certificates     = "/buckets/blocklists/collections/certificates"
)

// changesSetUp empties the server and creates blocklists/certificates as
// alice, the reference's setUp.
func changesSetUp(t *testing.T, v1 string) {
	t.Helper()
	do(t, "POST", v1+"/__flush__", "").expectStatus(t, 202)
	changesCreate(t, v1, "blocklists", "certificates")
}

// changesCreate creates (or keeps) a bucket and a collection as alice.
func changesCreate(t *testing.T, v1, bucket, collection string) {
	t.Helper()
	for _, p := range []string{"/buckets/" + bucket, "/buckets/" + bucket + "/collections/" + collection} {
		if r := do(t, "PUT", v1+p, "{}", basic("alice")); r.status >= 300 {
			t.Fatalf("PUT %s: %d %s", p, r.status, r.body)
		}
	}
}

// changesPost posts a record as alice and returns its last_modified.
func changesPost(t *testing.T, v1, collection, data string) int64 {
	t.Helper()
	r := do(t, "POST", v1+collection+"/records", `{"data":`+data+`}`, basic("alice")).expectStatus(t, 201)
	return changesNumber(t, r.json(t)["data"].(map[string]any)["last_modified"])
}

// changesNumber reads a JSON number decoded with UseNumber.
func changesNumber(t testing.TB, v any) int64 {
	t.Helper()
	n, err := v.(json.Number).Int64()
	if err != nil {
		t.Fatalf("%v is not an integer", v)
	}
	return n
}

// changesList returns a body's list member ("data" or "changes") as raw
// JSON items.
func changesList(t testing.TB, body, member string) []json.RawMessage {
	t.Helper()
	var v map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, body)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(v[member], &items); err != nil {
		t.Fatalf("%s is not a list: %s", member, body)
	}
	return items
}

// changesEntries decodes a body's list member into objects.
func changesEntries(t testing.TB, body, member string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, raw := range changesList(t, body, member) {
		d := json.NewDecoder(bytes.NewReader(raw))
		d.UseNumber()
		var m map[string]any
		if err := d.Decode(&m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// changesJoin renders a list of raw JSON items.
func changesJoin(items []json.RawMessage) string {
	parts := make([]string, len(items))
	for i, it := range items {
		parts[i] = string(it)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

// changesHTTPDate parses an HTTP date.
func changesHTTPDate(t testing.TB, s string) time.Time {
	t.Helper()
	d, err := time.Parse(time.RFC1123, s)
	if err != nil {
		t.Fatalf("bad HTTP date %q", s)
	}
	return d
}

// changesQuoted is a quoted timestamp, as in ETags.
func changesQuoted(ts int64) string { return fmt.Sprintf(`"%d"`, ts) }

// changesAbsent fails unless the header is absent.
func (r result) changesAbsent(t testing.TB, names ...string) result {
	t.Helper()
	for _, n := range names {
		if v, ok := r.header[n]; ok {
			t.Fatalf("unexpected header %s: %v", n, v)
		}
	}
	return r
}
