package feeds

import (
	"encoding/json"
	"fmt"
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

// TestRevisionsChain: a record's revision is "<generation>-<md5(id@generation)>"
// and its _revisions list every generation's hash, newest first, so a
// replica holding an older revision sees the new one as its descendant.
func TestRevisionsChain(t *testing.T) {
	const h1, h2, h3 = "3593d56b4f5ba991a0efcaaddb064cd1", "d8705916cde4be06b7119310500a74b5", "9af3664874e8802d88332242ade380d2"
	if got := revOf("a", 3); got != "3-"+h3 {
		t.Fatalf("revOf(a, 3) = %q; want 3-%s", got, h3)
	}
	tomb := feedRow{id: "a", lm: 1700000000000, gen: 3, deleted: true}
	want := `{"_id":"a","_rev":"3-` + h3 + `","_deleted":true,"_revisions":{"start":3,"ids":["` + h3 + `","` + h2 + `","` + h1 + `"]}}`
	if got := string(appendReplicaDoc(nil, tomb, revOf("a", 3), true)); got != want {
		t.Errorf("tombstone at generation 3:\n%s\nwant\n%s", got, want)
	}
	live := feedRow{id: "a", lm: 1700000000000, gen: 2, data: json.RawMessage(`{"id":"a","n":1}`)}
	want = `{"_id":"a","_rev":"2-` + h2 + `","id":"a","n":1,"_revisions":{"start":2,"ids":["` + h2 + `","` + h1 + `"]}}`
	if got := string(appendReplicaDoc(nil, live, revOf("a", 2), true)); got != want {
		t.Errorf("record at generation 2:\n%s\nwant\n%s", got, want)
	}
	first := feedRow{id: "a", lm: 1700000000000, gen: 1, data: json.RawMessage(`{}`)}
	want = `{"_id":"a","_rev":"1-` + h1 + `","_revisions":{"start":1,"ids":["` + h1 + `"]}}`
	if got := string(appendReplicaDoc(nil, first, revOf("a", 1), true)); got != want {
		t.Errorf("record at generation 1:\n%s\nwant\n%s", got, want)
	}
}

// TestRevisionsStemmed: the history stops at revsLimit revisions, as
// CouchDB stems it.
func TestRevisionsStemmed(t *testing.T) {
	row := feedRow{id: "a", lm: 1, gen: revsLimit + 5}
	var doc struct {
		Revisions struct {
			Start int64    `json:"start"`
			IDs   []string `json:"ids"`
		} `json:"_revisions"`
	}
	if err := json.Unmarshal(appendReplicaDoc(nil, row, revOf("a", row.gen), true), &doc); err != nil {
		t.Fatal(err)
	}
	r := doc.Revisions
	if r.Start != revsLimit+5 || len(r.IDs) != revsLimit || "6-"+r.IDs[revsLimit-1] != revOf("a", 6) || fmt.Sprint(r.Start)+"-"+r.IDs[0] != revOf("a", row.gen) {
		t.Fatalf("_revisions start %d, %d ids from %q to %q; want %d ids from generation %d down to 6", r.Start, len(r.IDs), r.IDs[0], r.IDs[len(r.IDs)-1], revsLimit, row.gen)
	}
}

// TestReplicationPickGenerations: with latest, any older generation's
// revision leads to the current version; a revision of the former
// last_modified scheme, or of a generation not reached, is missing.
func TestReplicationPickGenerations(t *testing.T) {
	row := feedRow{id: "a", lm: 1700000000000, gen: 3}
	cur := revOf("a", 3)
	for _, tc := range []struct {
		rev    string
		latest bool
		want   bool
	}{
		{cur, false, true},
		{revOf("a", 1), true, true},
		{revOf("a", 2), false, false},
		{revOf("a", 4), true, false},
		{revOf("a", row.lm), true, false},
	} {
		rev, ok := pick(newDocWant("a", tc.rev), row, true, tc.latest)
		if ok != tc.want || (ok && rev != cur) {
			t.Errorf("pick(%q, latest %t) = %q %t; want %t", tc.rev, tc.latest, rev, ok, tc.want)
		}
	}
}
