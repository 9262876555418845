package integration

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/changegate/changegate/internal/testserver"
)

const historyCaddyfile = changesGlobal + `:{port} {
	docstore {
		storage bolt {dir}/data.db
		userid_hmac_secret test-secret-of-16-bytes
		history {
			exclude_resources /buckets/excluded
		}
	}
}
`

// historyVolatile matches what differs between runs in an entry: its
// date and its id.
var historyVolatile = regexp.MustCompile(`"date":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00"|"id":"[0-9a-f-]{36}"`)

func normalizeHistory(body string) string {
	return historyVolatile.ReplaceAllStringFunc(body, func(m string) string {
		if strings.HasPrefix(m, `"date"`) {
			return `"date":"DATE"`
		}
		return `"id":"UUID"`
	})
}

// TestHistory follows Kinto's history plugin tests through a real server.
func TestHistory(t *testing.T) {
	s := testserver.Start(t, historyCaddyfile)
	v1 := s.URL() + "/v1"
	alice, bob := basic("alice"), basic("bob")
	caps := do(t, "GET", v1+"/", "").json(t)["capabilities"].(map[string]any)
	if fmt.Sprint(caps["history"]) != "map[description:Track changes on data. excluded_resources:[map[bucket:excluded]] url:http://kinto.readthedocs.io/en/latest/api/1.x/history.html]" {
		t.Fatalf("history capability: %v", caps["history"])
	}
	do(t, "PUT", v1+"/buckets/test", "", alice).expectStatus(t, 201)
	do(t, "PUT", v1+"/buckets/test/collections/col", "", alice).expectStatus(t, 201)
	do(t, "PUT", v1+"/buckets/test/groups/grp", `{"data":{"members":["elle"]}}`, alice).expectStatus(t, 201)
	rec := do(t, "PUT", v1+"/buckets/test/collections/col/records/rec", `{"data":{"foo":42}}`, alice).expectStatus(t, 201)
	created := rec.etag(t)

	hist := v1 + "/buckets/test/history"
	list := do(t, "GET", hist, "", alice).expectStatus(t, 200).
		expectHeaders(t, "Cache-Control", "no-cache, no-store", "Content-Type", "application/json")
	entries := list.json(t)["data"].([]any)
	if len(entries) != 4 {
		t.Fatalf("%d entries: %s", len(entries), list.body)
	}
	first := normalizeHistory(list.body[len(`{"data":[`) : strings.Index(list.body, `},{"date"`)+1])
	aliceID := userID("alice")
	want := fmt.Sprintf(`{"date":"DATE","target":{"data":{"foo":42,"id":"rec","last_modified":%d},"permissions":{"write":[%q]}},`+
		`"action":"create","uri":"/buckets/test/collections/col/records/rec","user_id":%q,"resource_name":"record",`+
		`"collection_id":"col","record_id":"rec","id":"UUID","last_modified":%d}`, created, aliceID, aliceID, list.etag(t))
	if first != want {
		t.Fatalf("record entry\n got %s\nwant %s", first, want)
	}
	kinds := []string{}
	for _, e := range entries {
		m := e.(map[string]any)
		kinds = append(kinds, fmt.Sprint(m["resource_name"], ":", m["action"], ":", m["bucket_id"] != nil))
	}
	if strings.Join(kinds, ",") != "record:create:false,group:create:false,collection:create:false,bucket:create:true" {
		t.Fatalf("entries: %v", kinds)
	}

	// Filters, sorting, pagination, projection, as on any list.
	count := func(query string) int {
		t.Helper()
		return len(do(t, "GET", hist+query, "", alice).expectStatus(t, 200).json(t)["data"].([]any))
	}
	if n := count("?resource_name=bucket"); n != 1 {
		t.Errorf("resource_name=bucket: %d", n)
	}
	do(t, "PUT", v1+"/buckets/test/collections/1", "", alice).expectStatus(t, 201)
	do(t, "PUT", v1+"/buckets/test/collections/1/records/2", "", alice).expectStatus(t, 201)
	if n := count("?collection_id=1&record_id=2"); n != 1 {
		t.Errorf("numeric ids: %d", n)
	}
	page := do(t, "GET", hist+"?_limit=2", "", alice).expectStatus(t, 200)
	if len(page.json(t)["data"].([]any)) != 2 || page.header.Get("Next-Page") == "" {
		t.Errorf("_limit=2: %s, Next-Page %q", page.body, page.header.Get("Next-Page"))
	}
	fields := do(t, "GET", hist+"?_fields=uri,action&_limit=1", "", alice).expectStatus(t, 200)
	if normalizeHistory(fields.body) != fmt.Sprintf(`{"data":[{"action":"create","id":"UUID","last_modified":%d,"uri":"/buckets/test/collections/1/records/2"}]}`, fields.etag(t)) {
		t.Errorf("_fields: %s", fields.body)
	}
	do(t, "GET", hist+"?movie=bourne", "", alice).
		expect(t, 400, `{"code":400,"errno":107,"error":"Invalid parameters","message":"Unknown filter field 'movie'","details":[{"location":"querystring","name":"movie","description":"Unknown filter field 'movie'"}]}`)

	// Updates and deletions, with their targets.
	do(t, "PATCH", v1+"/buckets/test/collections/col/records/rec", `{"data":{"foo":"baz"}}`, alice).expectStatus(t, 200)
	do(t, "DELETE", v1+"/buckets/test/collections/col/records/rec", "", alice).expectStatus(t, 200)
	last := do(t, "GET", hist+"?uri=/buckets/test/collections/col/records/rec", "", alice).json(t)["data"].([]any)
	actions := []string{}
	for _, e := range last {
		m := e.(map[string]any)
		actions = append(actions, fmt.Sprint(m["action"], m["target"].(map[string]any)["data"]))
	}
	if len(actions) != 3 || !strings.HasPrefix(actions[0], "deletemap[deleted:true") || !strings.HasPrefix(actions[1], "updatemap[foo:baz") {
		t.Fatalf("record history: %v", actions)
	}

	// Readable by who may read the object: bob sees nothing until a
	// record is shared with him, then that record's entries from then on.
	do(t, "GET", hist, "", bob).expect(t, 403, msg403)
	do(t, "GET", hist, "").expect(t, 401, msg401)
	do(t, "PUT", v1+"/buckets/test/collections/col/records/shared", `{"permissions":{"read":["`+userID("bob")+`"]}}`, alice).expectStatus(t, 201)
	bobs := do(t, "GET", hist, "", bob).expectStatus(t, 200).json(t)["data"].([]any)
	if len(bobs) != 1 || bobs[0].(map[string]any)["record_id"] != "shared" {
		t.Fatalf("bob's history: %v", bobs)
	}
	do(t, "DELETE", hist, "", bob).expect(t, 403, msg403)

	// Deleting a collection records one entry, not one per record.
	before := count("")
	do(t, "DELETE", v1+"/buckets/test/collections/1", "", alice).expectStatus(t, 200)
	if n := count(""); n != before+1 {
		t.Fatalf("collection deletion: %d entries, want %d", n, before+1)
	}
	// _before trims by hand; deleting a bucket deletes its history.
	ts := do(t, "HEAD", hist, "", alice).etag(t)
	do(t, "DELETE", hist+fmt.Sprintf("?_before=%d", ts), "", alice).expectStatus(t, 200)
	if n := count(""); n != 1 {
		t.Fatalf("after DELETE ?_before: %d entries", n)
	}
	do(t, "DELETE", v1+"/buckets/test", "", alice).expectStatus(t, 200)
	do(t, "PUT", v1+"/buckets/test", "", alice).expectStatus(t, 201)
	if n := count(""); n != 1 {
		t.Fatalf("a re-created bucket starts a fresh history: %d entries", n)
	}

	// Excluded resources are not tracked.
	do(t, "PUT", v1+"/buckets/excluded", "", alice).expectStatus(t, 201)
	do(t, "GET", v1+"/buckets/excluded/history", "", alice).expect(t, 200, `{"data":[]}`)
}

// TestHistorySnapshot: a collection as it was at a timestamp, which
// kinto-http's listRecords({at}) reads.
func TestHistorySnapshot(t *testing.T) {
	s := testserver.Start(t, historyCaddyfile)
	v1 := s.URL() + "/v1"
	alice := basic("alice")
	do(t, "PUT", v1+"/buckets/b", "", alice).expectStatus(t, 201)
	do(t, "PUT", v1+"/buckets/b/collections/c", "", alice).expectStatus(t, 201)
	recs := v1 + "/buckets/b/collections/c/records"
	t1 := do(t, "PUT", recs+"/r1", `{"data":{"v":1}}`, alice).expectStatus(t, 201).etag(t)
	t2 := do(t, "PATCH", recs+"/r1", `{"data":{"v":2}}`, alice).expectStatus(t, 200).etag(t)
	t3 := do(t, "PUT", recs+"/r2", `{"data":{"w":1}}`, alice).expectStatus(t, 201).etag(t)
	t4 := do(t, "DELETE", recs+"/r1", "", alice).expectStatus(t, 200).etag(t)
	snap := v1 + "/buckets/b/snapshot/collections/c@"
	for at, want := range map[int64]string{
		t1 - 1: `{"data":[]}`,
		t1:     fmt.Sprintf(`{"data":[{"v":1,"id":"r1","last_modified":%d}]}`, t1),
		t2:     fmt.Sprintf(`{"data":[{"v":2,"id":"r1","last_modified":%d}]}`, t2),
		t3:     fmt.Sprintf(`{"data":[{"w":1,"id":"r2","last_modified":%d},{"v":2,"id":"r1","last_modified":%d}]}`, t3, t2),
		t4:     fmt.Sprintf(`{"data":[{"w":1,"id":"r2","last_modified":%d}]}`, t3),
	} {
		do(t, "GET", fmt.Sprint(snap, at), "", alice).expect(t, 200, want)
	}
	do(t, "GET", snap+"x", "", alice).
		expect(t, 400, `{"code":400,"errno":107,"error":"Invalid parameters","message":"Invalid timestamp 'x'","details":[{"location":"path","name":"timestamp","description":"Invalid timestamp 'x'"}]}`)
	do(t, "GET", fmt.Sprint(snap, t1), "", basic("bob")).expect(t, 403, msg403)
}

// TestHistoryOffByDefault: without the history block there is no
// history endpoint.
func TestHistoryOffByDefault(t *testing.T) {
	s := testserver.Start(t, secured)
	do(t, "PUT", s.URL()+"/v1/buckets/b", "", basic("alice")).expectStatus(t, 201)
	do(t, "GET", s.URL()+"/v1/buckets/b/history", "", basic("alice")).
		expect(t, 404, `{"code":404,"errno":111,"error":"Not Found","message":"The resource you are looking for could not be found."}`)
}
