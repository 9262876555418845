package integration

import (
	"crypto/md5"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"strings"
	"testing"

	"github.com/changegate/changegate/internal/testserver"
)

// replicationRev is the rev of a record's generation (its first write is
// 1, every write after one more): "<gen>-<md5(id@gen)>".
func replicationRev(id string, gen int64) string {
	return fmt.Sprintf("%d-%s", gen, revHash(id, gen))
}

// revHash is the hash part of replicationRev.
func revHash(id string, gen int64) string {
	return fmt.Sprintf("%x", md5.Sum(fmt.Appendf(nil, "%s@%d", id, gen)))
}

// replicationEnv is priv/c holding record a (live, written twice) and b
// (written, then deleted), both at generation 2.
type replicationEnv struct {
	v1, db     string
	lmA, lmB   int64
	revA, revB string
}

func startReplication(t *testing.T) (*testserver.Server, *replicationEnv) {
	t.Helper()
	s := testserver.Start(t, replicationCaddyfile)
	e := &replicationEnv{v1: s.URL() + "/v1"}
	e.db = e.v1 + "/buckets/priv/collections/c"
	replicationFixture(t, e.v1)
	do(t, "PUT", e.db+"/records/a", `{"data":{"title":"first"}}`, basic("alice")).expectStatus(t, 201)
	r := do(t, "PUT", e.db+"/records/a", `{"data":{"title":"x"}}`, basic("alice")).expectStatus(t, 200)
	e.lmA = changesNumber(t, r.json(t)["data"].(map[string]any)["last_modified"])
	do(t, "PUT", e.db+"/records/b", `{"data":{}}`, basic("alice")).expectStatus(t, 201)
	r = do(t, "DELETE", e.db+"/records/b", "", basic("alice")).expectStatus(t, 200)
	e.lmB = changesNumber(t, r.json(t)["data"].(map[string]any)["last_modified"])
	e.revA, e.revB = replicationRev("a", 2), replicationRev("b", 2)
	return s, e
}

// docA is record a as CouchDB renders it, with extra before the end.
func (e *replicationEnv) docA(extra string) string {
	return fmt.Sprintf(`{"_id":"a","_rev":%q,"title":"x","id":"a","last_modified":%d%s}`, e.revA, e.lmA, extra)
}

// revisions is the _revisions member of id at generation 2.
func (e *replicationEnv) revisions(id string) string {
	return fmt.Sprintf(`,"_revisions":{"start":2,"ids":[%q,%q]}`, revHash(id, 2), revHash(id, 1))
}

// TestReplicationDocs: GET {db}/{docid} with rev, revs, latest and
// open_revs (JSON and multipart), as CouchDB answers them.
func TestReplicationDocs(t *testing.T) {
	_, e := startReplication(t)
	bob := basic("bob")
	do(t, "GET", e.db+"/a", "", bob).expect(t, 200, e.docA("")+"\n").
		expectHeader(t, "ETag", `"`+e.revA+`"`).expectHeader(t, "Content-Type", "application/json")
	do(t, "GET", e.db+"/a?revs=true&rev="+e.revA, "", bob).expect(t, 200, e.docA(e.revisions("a"))+"\n")
	old := replicationRev("a", 1)
	do(t, "GET", e.db+"/a?rev="+old, "", bob).expect(t, 404, `{"error":"not_found","reason":"missing"}`+"\n")
	do(t, "GET", e.db+"/a?latest=true&rev="+old, "", bob).expect(t, 200, e.docA("")+"\n")
	do(t, "GET", e.db+"/b", "", bob).expect(t, 404, `{"error":"not_found","reason":"deleted"}`+"\n")
	tomb := fmt.Sprintf(`{"_id":"b","_rev":%q,"_deleted":true`, e.revB)
	do(t, "GET", e.db+"/b?revs=true&rev="+e.revB, "", bob).expect(t, 200, tomb+e.revisions("b")+"}\n")
	do(t, "GET", e.db+"/zz", "", bob).expect(t, 404, `{"error":"not_found","reason":"missing"}`+"\n")

	openRevs := fmt.Sprintf(`?revs=true&latest=true&open_revs=[%q,"1-x"]`, e.revA)
	do(t, "GET", e.db+"/a"+openRevs, "", bob, "Accept: application/json").
		expect(t, 200, `[{"ok":`+e.docA(e.revisions("a"))+`},{"missing":"1-x"}]`+"\n")
	do(t, "GET", e.db+"/b?open_revs=all", "", bob, "Accept: application/json").expect(t, 200, `[{"ok":`+tomb+"}}]\n")
	do(t, "GET", e.db+"/a?open_revs=nope", "", bob).expect(t, 400, `{"error":"bad_request","reason":"Invalid JSON for open_revs: a list of revisions or \"all\""}`+"\n")

	r := do(t, "GET", e.db+"/a"+openRevs, "", bob)
	mt, params, err := mime.ParseMediaType(r.header.Get("Content-Type"))
	if r.status != 200 || err != nil || mt != "multipart/mixed" {
		t.Fatalf("multipart open_revs: %d %q %v", r.status, r.header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(strings.NewReader(r.body), params["boundary"])
	var parts []string
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		parts = append(parts, p.Header.Get("Content-Type")+" "+string(b))
	}
	want := []string{"application/json " + e.docA(e.revisions("a")), `application/json; error="true" {"missing":"1-x"}`}
	if fmt.Sprint(parts) != fmt.Sprint(want) {
		t.Fatalf("multipart parts:\n%q\nwant\n%q", parts, want)
	}
}

// TestReplicationBulkGetAllDocs: _bulk_get and _all_docs bodies, and the
// pull-only refusals.
func TestReplicationBulkGetAllDocs(t *testing.T) {
	_, e := startReplication(t)
	bob := basic("bob")
	body := fmt.Sprintf(`{"docs":[{"id":"a","rev":%q},{"id":"b","rev":%q},{"id":"zz","rev":"1-x"},{"id":"a"}]}`, e.revA, e.revB)
	do(t, "POST", e.db+"/_bulk_get?revs=true&latest=true", body, bob).expect(t, 200,
		`{"results":[{"id":"a","docs":[{"ok":`+e.docA(e.revisions("a"))+`}]},`+
			fmt.Sprintf(`{"id":"b","docs":[{"ok":{"_id":"b","_rev":%q,"_deleted":true%s}}]},`, e.revB, e.revisions("b"))+
			`{"id":"zz","docs":[{"error":{"id":"zz","rev":"1-x","error":"not_found","reason":"missing"}}]},`+
			`{"id":"a","docs":[{"ok":`+e.docA(e.revisions("a"))+`}]}]}`+"\n")
	do(t, "POST", e.db+"/_bulk_get", `{}`, bob).expect(t, 400, `{"error":"bad_request","reason":"Missing JSON list of 'docs'."}`+"\n")
	do(t, "GET", e.db+"/_bulk_get", "", bob).expect(t, 405, `{"error":"method_not_allowed","reason":"Only POST allowed"}`+"\n").expectHeader(t, "Allow", "POST")

	rowA := fmt.Sprintf(`{"id":"a","key":"a","value":{"rev":%q}`, e.revA)
	do(t, "GET", e.db+"/_all_docs", "", bob).expect(t, 200, `{"total_rows":1,"offset":0,"rows":[`+"\r\n"+rowA+"}\r\n]}\n")
	do(t, "GET", e.db+"/_all_docs?include_docs=true", "", bob).expect(t, 200, `{"total_rows":1,"offset":0,"rows":[`+"\r\n"+rowA+`,"doc":`+e.docA("")+"}\r\n]}\n")
	do(t, "POST", e.db+"/_all_docs?include_docs=true", `{"keys":["zz","b","a"]}`, bob).expect(t, 200,
		`{"total_rows":1,"offset":null,"rows":[`+"\r\n"+`{"key":"zz","error":"not_found"},`+"\r\n"+
			fmt.Sprintf(`{"id":"b","key":"b","value":{"rev":%q,"deleted":true},"doc":null},`, e.revB)+"\r\n"+
			rowA+`,"doc":`+e.docA("")+"}\r\n]}\n")
	do(t, "GET", e.db+`/_all_docs?startkey="b"`, "", bob).expect(t, 200, `{"total_rows":1,"offset":1,"rows":[]}`+"\n")

	for _, path := range []string{"_revs_diff", "_bulk_docs"} {
		do(t, "POST", e.db+"/"+path, `{}`, basic("alice")).expect(t, 501, `{"error":"not_implemented","reason":"`+path+
			` is not supported: this database is a pull-only replication source; write records through the Kinto API"}`+"\n")
	}
	// Kinto's own routes below the collection are untouched.
	do(t, "GET", e.db+"/records", "", bob).expectStatus(t, 200)
	do(t, "PUT", e.db+"/a", `{}`, basic("alice")).expectStatus(t, 404)
}

// TestReplicationBounds: one request asks for at most 1,000 documents
// (_bulk_get, _all_docs keys) and 100 open revisions, so that a small
// body cannot ask for the same large document, with its 1,000-revision
// history, a hundred thousand times.
func TestReplicationBounds(t *testing.T) {
	_, e := startReplication(t)
	bob := basic("bob")
	list := func(n int, item string) string {
		return strings.TrimSuffix(strings.Repeat(item+",", n), ",")
	}
	do(t, "POST", e.db+"/_bulk_get?revs=true", `{"docs":[`+list(1001, `{"id":"a"}`)+`]}`, bob).
		expect(t, 413, `{"error":"max_bulk_get_count_exceeded","reason":"1000"}`+"\n")
	r := do(t, "POST", e.db+"/_bulk_get?revs=true", `{"docs":[`+list(1000, `{"id":"a"}`)+`]}`, bob).expectStatus(t, 200)
	if n := strings.Count(r.body, `{"ok":`); n != 1000 {
		t.Errorf("_bulk_get of 1,000 docs answered %d", n)
	}

	openRevs := func(n int) string { return e.db + "/a?open_revs=[" + list(n, fmt.Sprintf("%q", e.revA)) + "]" }
	do(t, "GET", openRevs(101), "", bob, "Accept: application/json").
		expect(t, 400, `{"error":"bad_request","reason":"open_revs lists at most 100 revisions"}`+"\n")
	r = do(t, "GET", openRevs(100), "", bob, "Accept: application/json").expectStatus(t, 200)
	if n := strings.Count(r.body, `{"ok":`); n != 100 {
		t.Errorf("open_revs of 100 revisions answered %d", n)
	}

	do(t, "POST", e.db+"/_all_docs", `{"keys":[`+list(1001, `"a"`)+`]}`, bob).
		expect(t, 400, `{"error":"bad_request","reason":"`+"`keys`"+` lists at most 1000 ids"}`+"\n")
	r = do(t, "POST", e.db+"/_all_docs", `{"keys":[`+list(1000, `"a"`)+`]}`, bob).expectStatus(t, 200)
	if n := strings.Count(r.body, `"key":"a"`); n != 1000 {
		t.Errorf("_all_docs of 1,000 keys answered %d rows", n)
	}
	// Without keys, one answer holds at most 10,000 rows.
	for _, name := range []string{"limit", "skip"} {
		do(t, "GET", e.db+"/_all_docs?"+name+"=10001", "", bob).
			expect(t, 400, `{"error":"bad_request","reason":"Invalid value for `+"`"+name+"`"+`: at most 10000"}`+"\n")
	}
	do(t, "GET", e.db+"/_all_docs?limit=10000&skip=1", "", bob).expect(t, 200, `{"total_rows":1,"offset":1,"rows":[]}`+"\n")
}

// TestReplicationPermissions: no read permission, no document; CouchDB's
// error names with the store's statuses and messages.
func TestReplicationPermissions(t *testing.T) {
	_, e := startReplication(t)
	for _, path := range []string{"/a", "/_all_docs", "/_local/cp"} {
		do(t, "GET", e.db+path, "", basic("carol")).expect(t, 403, `{"error":"forbidden","reason":"This user cannot access this resource."}`+"\n")
		do(t, "GET", e.db+path, "").expect(t, 401, `{"error":"unauthorized","reason":"Please authenticate yourself to use this endpoint."}`+"\n")
	}
	do(t, "POST", e.db+"/_bulk_get", `{"docs":[]}`, basic("carol")).expectStatus(t, 403)
	do(t, "GET", e.v1+"/buckets/priv/collections/nope/a", "", basic("alice")).expect(t, 404, `{"error":"not_found","reason":"Database does not exist."}`+"\n")
}

// TestReplicationCheckpoints: _local documents per collection and
// caller, written by writers only, out of sight, gone with the
// collection.
func TestReplicationCheckpoints(t *testing.T) {
	s, e := startReplication(t)
	alice, bob := basic("alice"), basic("bob")
	cp := e.db + "/_local/cp"
	do(t, "GET", cp, "", alice).expect(t, 404, `{"error":"not_found","reason":"missing"}`+"\n")
	do(t, "PUT", cp, `{"last_seq":"5"}`, alice).expect(t, 201, `{"ok":true,"id":"_local/cp","rev":"0-1"}`+"\n")
	do(t, "GET", cp, "", alice).expect(t, 200, `{"_id":"_local/cp","_rev":"0-1","last_seq":"5"}`+"\n")
	do(t, "PUT", cp, `{"last_seq":"6"}`, alice).expect(t, 409, `{"error":"conflict","reason":"Document update conflict."}`+"\n")
	do(t, "PUT", cp, `{"_rev":"0-1","last_seq":"6"}`, alice).expect(t, 201, `{"ok":true,"id":"_local/cp","rev":"0-2"}`+"\n")
	// Another caller has checkpoints of its own, and a reader none.
	do(t, "GET", cp, "", bob).expect(t, 404, `{"error":"not_found","reason":"missing"}`+"\n")
	do(t, "PUT", cp, `{"last_seq":"1"}`, bob).expect(t, 403, `{"error":"forbidden","reason":"This user cannot access this resource."}`+"\n")
	// Out of sight of records and feeds, and kept across a restart.
	do(t, "GET", e.db+"/records", "", alice).expectStatus(t, 200).expectHeader(t, "Total-Records", "")
	if r := do(t, "GET", e.db+"/records?_since=0", "", alice); strings.Contains(r.body, "cp") {
		t.Fatalf("checkpoint listed: %s", r.body)
	}
	if r := do(t, "GET", e.db+"/_changes", "", alice); strings.Contains(r.body, `"cp"`) || strings.Count(r.body, `"id"`) != 2 {
		t.Fatalf("checkpoint in _changes: %s", r.body)
	}
	s.Stop()
	s.Restart()
	do(t, "GET", cp, "", alice).expect(t, 200, `{"_id":"_local/cp","_rev":"0-2","last_seq":"6"}`+"\n")
	do(t, "DELETE", cp+"?rev=0-1", "", alice).expect(t, 404, `{"error":"not_found","reason":"missing"}`+"\n")
	do(t, "DELETE", cp+"?rev=0-2", "", alice).expect(t, 200, `{"ok":true,"id":"_local/cp","rev":"0-0"}`+"\n")
	do(t, "PUT", cp, `{"last_seq":"7"}`, alice).expectStatus(t, 201)
	// Removed with the collection.
	do(t, "DELETE", e.db, "", alice).expectStatus(t, 200)
	do(t, "GET", cp, "", alice).expect(t, 404, `{"error":"not_found","reason":"Database does not exist."}`+"\n")
	do(t, "PUT", e.db, "{}", alice).expectStatus(t, 201)
	do(t, "GET", cp, "", alice).expect(t, 404, `{"error":"not_found","reason":"missing"}`+"\n")
}

// TestReplicationMonitor: the monitor is a read-only source.
func TestReplicationMonitor(t *testing.T) {
	_, e := startReplication(t)
	mon := e.v1 + "/buckets/monitor/collections/changes"
	// The monitor lists what the caller may read: alice's collection to
	// alice, nothing to anonymous callers.
	do(t, "GET", mon+"/_all_docs?include_docs=true", "").expect(t, 200, `{"total_rows":0,"offset":0,"rows":[]}`+"\n")
	r := do(t, "GET", mon+"/_all_docs?include_docs=true", "", basic("alice")).expectStatus(t, 200)
	if !strings.Contains(r.body, `"total_rows":1,`) || !strings.Contains(r.body, `"bucket":"priv","collection":"c"`) {
		t.Fatalf("monitor _all_docs for alice: %s", r.body)
	}
	do(t, "PUT", mon+"/_local/cp", `{}`).expect(t, 401, `{"error":"unauthorized","reason":"Please authenticate yourself to use this endpoint."}`+"\n")
	do(t, "PUT", mon+"/_local/cp", `{}`, basic("alice")).expect(t, 403, `{"error":"forbidden","reason":"the monitor is read-only: keep the checkpoint on the target"}`+"\n")
	do(t, "GET", mon+"/_local/cp", "", basic("alice")).expect(t, 404, `{"error":"not_found","reason":"missing"}`+"\n")
}
