package integration

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/changegate/changegate/internal/testserver"
)

// monitorStandalone monitors bucket main; %s goes into the changes
// block.
const monitorStandalone = changesGlobal + `:{port} {
	changes {
		resources /buckets/main
		push_broadcast_min_debounce_interval_seconds 0
		%s
	}
	docstore {
		storage bolt {dir}/data.db
		userid_hmac_secret test-secret-of-16-bytes
	}
}
`

// monitorSidecar is a sidecar in front of %[1]s (its /v1 URL) at host
// %[2]s, polling as svc:pw.
const monitorSidecar = changesGlobal + `:{port} {
	changes {
		resources /buckets/main
		push_broadcast_min_debounce_interval_seconds 0
		upstream %[1]s {
			poll_interval 200ms
			relist_interval 200ms
			auth basic svc pw
		}
	}
	reverse_proxy %[2]s
}
`

// monitorSetUp makes, in bucket main owned by alice (svc may read it),
// collection pub readable by everyone, priv readable by alice only and
// shared readable by bob too, each with a record.
func monitorSetUp(t *testing.T, v1 string) {
	t.Helper()
	do(t, "PUT", v1+"/buckets/main", fmt.Sprintf(`{"permissions":{"read":[%q]}}`, userID("svc")), basic("alice")).expectStatus(t, 201)
	perms := map[string]string{"pub": `"system.Everyone"`, "priv": "", "shared": fmt.Sprintf("%q", userID("bob"))}
	for _, c := range []string{"pub", "priv", "shared"} {
		do(t, "PUT", v1+"/buckets/main/collections/"+c, `{"permissions":{"read":[`+perms[c]+`]}}`, basic("alice")).expectStatus(t, 201)
		monitorWrite(t, v1, c)
	}
}

// monitorWrite writes a record of main/c as alice; it returns the
// record's timestamp.
func monitorWrite(t *testing.T, v1, c string) int64 {
	t.Helper()
	time.Sleep(2 * time.Millisecond)
	return changesPost(t, v1, "/buckets/main/collections/"+c, `{}`)
}

// monitorSeen lists the collections the monitor changeset, the legacy
// records list and the monitor _changes feed show to auth ("" for
// anonymous); the three must agree.
func monitorSeen(t *testing.T, v1, auth string) []string {
	t.Helper()
	names := func(entries []map[string]any) []string {
		var out []string
		for _, e := range entries {
			out = append(out, fmt.Sprint(e["collection"]))
		}
		slices.Sort(out)
		return out
	}
	cs := names(changesEntries(t, do(t, "GET", v1+monitorChangeset+"?_expected=0", "", auth).expectStatus(t, 200).body, "changes"))
	rec := names(changesEntries(t, do(t, "GET", v1+monitorRecords, "", auth).expectStatus(t, 200).body, "data"))
	var feed struct {
		Results []struct {
			Doc map[string]any `json:"doc"`
		} `json:"results"`
	}
	body := do(t, "GET", v1+"/buckets/monitor/collections/changes/_changes?include_docs=true", "", auth).expectStatus(t, 200).body
	if err := json.Unmarshal([]byte(body), &feed); err != nil {
		t.Fatalf("monitor feed %s: %v", body, err)
	}
	var docs []map[string]any
	for _, r := range feed.Results {
		docs = append(docs, r.Doc)
	}
	fd := names(docs)
	if !slices.Equal(cs, rec) || !slices.Equal(cs, fd) {
		t.Fatalf("changeset lists %v, records %v, feed %v", cs, rec, fd)
	}
	return cs
}

// expectSeen checks what auth sees in the monitor.
func expectSeen(t *testing.T, v1, who, auth string, want ...string) {
	t.Helper()
	if got := monitorSeen(t, v1, auth); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("%s sees %v in the monitor, want %v", who, got, want)
	}
}

// TestMonitorListsReadableOnly: anonymous callers see only the
// collections everyone may read, others what they may read; a
// permission change shows at once; __broadcasts__ ignores a private
// change.
func TestMonitorListsReadableOnly(t *testing.T) {
	s := testserver.Start(t, fmt.Sprintf(monitorStandalone, ""))
	v1 := s.URL() + "/v1"
	monitorSetUp(t, v1)

	expectSeen(t, v1, "anonymous", "", "pub")
	expectSeen(t, v1, "bob", basic("bob"), "pub", "shared")
	expectSeen(t, v1, "alice", basic("alice"), "priv", "pub", "shared")

	// The debounce (0 s) counts whole seconds since the last publication.
	published := changesBroadcast(t, v1)
	time.Sleep(1100 * time.Millisecond)
	monitorWrite(t, v1, "priv")
	if again := changesBroadcast(t, v1); again != published {
		t.Fatalf("__broadcasts__ moved from %s to %s for a private change", published, again)
	}
	pub := monitorWrite(t, v1, "pub")
	if moved := changesBroadcast(t, v1); moved != fmt.Sprint(pub) {
		t.Fatalf("__broadcasts__ %s after a public change at %d", moved, pub)
	}
	r := do(t, "GET", v1+monitorChangeset+"?_expected=0", "").expectStatus(t, 200)
	if ts := changesNumber(t, r.json(t)["timestamp"]); ts != pub {
		t.Fatalf("anonymous monitor timestamp %d, want the public collection's %d", ts, pub)
	}

	// Sharing priv shows it to anonymous callers; unsharing hides it.
	do(t, "PATCH", v1+"/buckets/main/collections/priv", `{"permissions":{"read":["system.Everyone"]}}`, basic("alice")).expectStatus(t, 200)
	expectSeen(t, v1, "anonymous after sharing", "", "priv", "pub")
	do(t, "PATCH", v1+"/buckets/main/collections/priv", `{"permissions":{"read":[]}}`, basic("alice")).expectStatus(t, 200)
	expectSeen(t, v1, "anonymous after unsharing", "", "pub")
	// Sharing the bucket shares everything in it.
	do(t, "PATCH", v1+"/buckets/main", `{"permissions":{"read":["system.Everyone"]}}`, basic("alice")).expectStatus(t, 200)
	expectSeen(t, v1, "anonymous, bucket shared", "", "priv", "pub", "shared")
}

// TestMonitorVisibilityAll: monitor_visibility all lists everything to
// anyone and moves __broadcasts__ for any change, as the reference does.
func TestMonitorVisibilityAll(t *testing.T) {
	s := testserver.Start(t, fmt.Sprintf(monitorStandalone, "monitor_visibility all"))
	v1 := s.URL() + "/v1"
	monitorSetUp(t, v1)
	expectSeen(t, v1, "anonymous", "", "priv", "pub", "shared")
	changesBroadcast(t, v1)
	time.Sleep(1100 * time.Millisecond)
	priv := monitorWrite(t, v1, "priv")
	if moved := changesBroadcast(t, v1); moved != fmt.Sprint(priv) {
		t.Fatalf("__broadcasts__ %s after a change at %d", moved, priv)
	}
	out := startFails(t, strings.Replace(fmt.Sprintf(monitorStandalone, "monitor_visibility everyone"), "{dir}/data.db", "{dir}/x.db", 1))
	expectAll(t, "config error", out, "monitor_visibility", "readable or all")
}

// TestMonitorSidecarListsReadableOnly: the sidecar's monitor follows the
// upstream's permissions, also for changes made straight to it.
func TestMonitorSidecarListsReadableOnly(t *testing.T) {
	up := testserver.Start(t, sidecarUpstreamCaddyfile)
	upV1 := up.URL() + "/v1"
	monitorSetUp(t, upV1)
	u, _ := url.Parse(upV1)
	side := testserver.Start(t, fmt.Sprintf(monitorSidecar, upV1, u.Host))
	v1 := side.URL() + "/v1"
	retryUntil(t, "the sidecar lists the three collections to alice", func() bool {
		return len(changesEntries(t, do(t, "GET", v1+monitorChangeset+"?_expected=0", "", basic("alice")).body, "changes")) == 3
	})
	expectSeen(t, v1, "anonymous", "", "pub")
	expectSeen(t, v1, "bob", basic("bob"), "pub", "shared")
	expectSeen(t, v1, "alice", basic("alice"), "priv", "pub", "shared")
	// A caller's own view is private to shared caches; the anonymous
	// one is not.
	do(t, "GET", v1+monitorChangeset+"?_expected=0", "", basic("alice")).expectHeader(t, "Cache-Control", "private")
	do(t, "GET", v1+monitorChangeset+"?_expected=0", "").expectHeader(t, "Cache-Control", "")
	do(t, "GET", v1+monitorRecords, "", basic("bob")).expectHeader(t, "Cache-Control", "private, no-cache, no-store")

	published := changesBroadcast(t, v1)
	time.Sleep(1100 * time.Millisecond)
	priv := monitorWrite(t, upV1, "priv")
	retryUntil(t, "the sidecar sees the private write", func() bool {
		return changesNumber(t, do(t, "GET", v1+monitorChangeset+"?_expected=0", "", basic("alice")).json(t)["timestamp"]) == priv
	})
	if again := changesBroadcast(t, v1); again != published {
		t.Fatalf("__broadcasts__ moved from %s to %s for a private change", published, again)
	}

	// Shared straight on the upstream: shown within a poll interval.
	do(t, "PATCH", upV1+"/buckets/main/collections/priv", `{"permissions":{"read":["system.Everyone"]}}`, basic("alice")).expectStatus(t, 200)
	retryUntil(t, "anonymous callers see priv once shared", func() bool {
		return strings.Join(monitorSeen(t, v1, ""), ",") == "priv,pub"
	})
}
