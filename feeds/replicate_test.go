package feeds

import (
	"encoding/json"
	"testing"
)

func TestReplicationRoute(t *testing.T) {
	for _, tc := range []struct {
		path string
		rt   route
		id   string
	}{
		{"/buckets/b/collections/c/_bulk_get", routeBulkGet, ""},
		{"/buckets/b/collections/c/_all_docs", routeAllDocs, ""},
		{"/buckets/b/collections/c/_revs_diff", routePushOnly, "_revs_diff"},
		{"/buckets/b/collections/c/_bulk_docs", routePushOnly, "_bulk_docs"},
		{"/buckets/b/collections/c/_local/x/y", routeLocalDoc, "x/y"},
		{"/buckets/b/collections/c/doc-1", routeDoc, "doc-1"},
		{"/buckets/monitor/collections/changes/abc", routeDoc, "abc"},
		{"/buckets/b/collections/c/records", routeNone, ""},
		{"/buckets/b/collections/c/changeset", routeNone, ""},
		{"/buckets/b/collections/c/_design", routeNone, ""},
		{"/buckets/b/collections/c/_local/", routeNone, ""},
		{"/buckets/b/collections/c/records/x", routeNone, ""},
		{"/buckets/b/collections/c/", routeNone, ""},
		{"/buckets/b/collections/c", routeNone, ""},
		{"/buckets/b/groups/g/x", routeNone, ""},
	} {
		rt, _, id := replicationRoute(tc.path)
		if rt != tc.rt || id != tc.id {
			t.Errorf("%s: route %d %q, want %d %q", tc.path, rt, id, tc.rt, tc.id)
		}
	}
}

func TestReplicationPick(t *testing.T) {
	row := feedRow{id: "a", lm: 200}
	cur, older := revOf("a", 200), revOf("a", 100)
	for _, tc := range []struct {
		rev          string
		have, latest bool
		want         bool
	}{
		{"", true, false, true},
		{cur, true, false, true},
		{older, true, false, false},
		{older, true, true, true},
		{revOf("b", 100), true, true, false}, // another record's rev
		{"100-x", true, true, false},         // a rev we never issued
		{revOf("a", 300), true, true, false}, // newer than what we have
		{cur, false, true, false},
	} {
		rev, ok := pick(newDocWant("a", tc.rev), row, tc.have, tc.latest)
		if ok != tc.want || (ok && rev != cur) {
			t.Errorf("pick(%q, have %t, latest %t) = %q %t, want %t", tc.rev, tc.have, tc.latest, rev, ok, tc.want)
		}
	}
}

func TestAppendReplicaDoc(t *testing.T) {
	rev := revOf("a", 5)
	live := feedRow{id: "a", lm: 5, data: json.RawMessage(`{"id":"a","last_modified":5}`)}
	want := `{"_id":"a","_rev":"` + rev + `","id":"a","last_modified":5,"_revisions":{"start":5,"ids":["` + rev[2:] + `"]}}`
	if got := string(appendReplicaDoc(nil, live, rev, true)); got != want {
		t.Errorf("live:\n%s\nwant\n%s", got, want)
	}
	empty := feedRow{id: "a", lm: 5, data: json.RawMessage(`{}`)}
	want = `{"_id":"a","_rev":"` + rev + `","_revisions":{"start":5,"ids":["` + rev[2:] + `"]}}`
	if got := string(appendReplicaDoc(nil, empty, rev, true)); got != want {
		t.Errorf("empty:\n%s\nwant\n%s", got, want)
	}
	tomb := feedRow{id: "a", lm: 5, deleted: true}
	want = `{"_id":"a","_rev":"` + rev + `","_deleted":true}`
	if got := string(appendReplicaDoc(nil, tomb, rev, false)); got != want {
		t.Errorf("tombstone:\n%s\nwant\n%s", got, want)
	}
}
