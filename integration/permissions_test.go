package integration

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"golang.org/x/crypto/bcrypt"

	"github.com/changegate/changegate/internal/testserver"
)

const secured = `{
	admin localhost:{admin}
	http_port {port}
	auto_https off
	persist_config off
}
:{port} {
	docstore {
		storage bolt {dir}/data.db
		userid_hmac_secret test-secret-of-16-bytes
		permissions_endpoint
	}
}
`

// basic returns the Authorization header of user:pw.
func basic(user string) string {
	return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(user+":pw"))
}

// userID is the basicauth principal of user:pw under test-secret-of-16-bytes.
func userID(user string) string {
	mac := hmac.New(sha256.New, []byte("test-secret-of-16-bytes"))
	mac.Write([]byte(user + ":pw"))
	return "basicauth:" + hex.EncodeToString(mac.Sum(nil))
}

// personalBucket is the default bucket id of a principal.
func personalBucket(principal string) string {
	mac := hmac.New(sha256.New, []byte("test-secret-of-16-bytes"))
	mac.Write([]byte(principal))
	return uuid.MustParse(hex.EncodeToString(mac.Sum(nil))[:32]).String()
}

const (
	msg401 = `{"code":401,"errno":104,"error":"Unauthorized","message":"Please authenticate yourself to use this endpoint."}`
	msg403 = `{"code":403,"errno":121,"error":"Forbidden","message":"This user cannot access this resource."}`
)

// TestPermissions runs a table of (who, method, path, body) → (status,
// body) through a real server: Kinto's permission model, inheritance,
// 401 vs 403 vs 404, and the leaks that must not happen.
func TestPermissions(t *testing.T) {
	s := testserver.Start(t, secured)
	v1 := s.URL() + "/v1"
	alice, bob, carol, anon := basic("alice"), basic("bob"), basic("carol"), ""
	bobID, carolID := userID("bob"), userID("carol")
	items := "/buckets/shop/collections/items"

	setup := []struct{ who, method, path, body string }{
		{alice, "PUT", "/buckets/shop", `{}`},
		{alice, "PUT", items, `{}`},
		{alice, "PUT", items + "/records/r1", `{"data":{"secret":true}}`},
		{alice, "PUT", items + "/records/r2", fmt.Sprintf(`{"data":{"shared":true},"permissions":{"read":[%q]}}`, bobID)},
		{alice, "PUT", "/buckets/shop/collections/hidden", `{}`},
		{alice, "PUT", "/buckets/shop/groups/readers", fmt.Sprintf(`{"data":{"members":[%q]}}`, carolID)},
		{alice, "PATCH", "/buckets/shop/collections/hidden", `{"permissions":{"read":["/buckets/shop/groups/readers"]}}`},
	}
	for _, st := range setup {
		r := do(t, st.method, v1+st.path, st.body, st.who)
		if r.status >= 300 {
			t.Fatalf("setup %s %s: %d %s", st.method, st.path, r.status, r.body)
		}
	}

	cases := []struct {
		name, who, method, path, body string
		status                        int
		want                          string // exact body, or "~substring", or "" for any
	}{
		{"anonymous cannot create buckets", anon, "PUT", "/buckets/anon", `{}`, 401, msg401},
		{"anonymous read of a private bucket", anon, "GET", "/buckets/shop", "", 401, msg401},
		{"other user reads a private bucket", bob, "GET", "/buckets/shop", "", 403, msg403},
		{"unknown bucket is 403 to outsiders", bob, "GET", "/buckets/nope", "", 403, msg403},
		{"owner reads", alice, "GET", "/buckets/shop", "", 200, "~" + `"permissions":{"write":["` + userID("alice") + `"]}`},
		{"list shows only shared records", bob, "GET", items + "/records", "", 200, "~" + `{"data":[{"shared":true,"id":"r2"`},
		{"count shows only shared records", bob, "HEAD", items + "/records", "", 200, ""},
		{"unshared record", bob, "GET", items + "/records/r1", "", 403, msg403},
		{"shared record, permissions hidden from readers", bob, "GET", items + "/records/r2", "", 200, "~" + `{"permissions":{},"data":{"shared":true,"id":"r2"`},
		{"no record:create", bob, "PUT", items + "/records/r3", `{}`, 403, msg403},
		{"no write on shared record", bob, "PATCH", items + "/records/r2", `{"data":{"x":1}}`, 403, msg403},
		{"delete of unknown record without read is 403", bob, "DELETE", items + "/records/nope", "", 403, msg403},
		{"delete of unknown record by owner is 404", alice, "DELETE", items + "/records/nope", "", 404, `{"code":404,"errno":110,"error":"Not Found","details":{"id":"nope","resource_name":"record"}}`},
		{"group member reads through the group", carol, "GET", "/buckets/shop/collections/hidden/records", "", 200, `{"data":[]}`},
		{"group member cannot read elsewhere", carol, "GET", items + "/records/r1", "", 403, msg403},
		{"collections list shows readable ones", carol, "GET", "/buckets/shop/collections", "", 200, "~" + `"id":"hidden"`},
		{"collections list hides others", carol, "GET", "/buckets/shop/collections", "", 200, "!" + `"id":"items"`},
		{"anonymous may not list buckets (cannot create any)", anon, "GET", "/buckets", "", 401, msg401},
		{"a user who may create buckets lists the readable ones", bob, "GET", "/buckets", "", 200, `{"data":[]}`},
		{"members cannot include system.Everyone", alice, "PUT", "/buckets/shop/groups/bad", `{"data":{"members":["system.Everyone"]}}`, 400, ""},
		{"unknown permission name", alice, "PUT", items + "/records/r9", `{"permissions":{"admin":["x"]}}`, 400, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := do(t, c.method, v1+c.path, c.body, c.who).expectStatus(t, c.status)
			switch {
			case strings.HasPrefix(c.want, "~"):
				if !strings.Contains(r.body, c.want[1:]) {
					t.Fatalf("body %s lacks %s", r.body, c.want[1:])
				}
			case strings.HasPrefix(c.want, "!"):
				if strings.Contains(r.body, c.want[1:]) {
					t.Fatalf("body %s leaks %s", r.body, c.want[1:])
				}
			case c.want != "":
				r.expect(t, c.status, c.want)
			}
			if c.status == 401 {
				r.expectHeader(t, "WWW-Authenticate", `Basic realm="Realm"`)
			}
		})
	}
	do(t, "HEAD", v1+items+"/records", "", bob).expectHeader(t, "Total-Records", "1")

	// A 412 never shows an object the caller cannot read.
	do(t, "PATCH", v1+items, fmt.Sprintf(`{"permissions":{"record:create":[%q]}}`, bobID), alice).expectStatus(t, 200)
	do(t, "PUT", v1+items+"/records/r1", `{}`, bob, "If-None-Match: *").
		expect(t, 412, `{"code":412,"errno":114,"error":"Precondition Failed","message":"Resource was modified meanwhile"}`)
	owner412 := do(t, "PUT", v1+items+"/records/r1", `{}`, alice, "If-None-Match: *").expectStatus(t, 412)
	if !strings.Contains(owner412.body, `"details":{"existing":{"secret":true`) {
		t.Fatalf("the owner's 412 must show the object: %s", owner412.body)
	}
	// With record:create, bob creates and owns his record.
	do(t, "PUT", v1+items+"/records/mine", `{}`, bob).expectStatus(t, 201)
	r := do(t, "GET", v1+items+"/records/mine", "", bob).expectStatus(t, 200)
	if !strings.Contains(r.body, `"permissions":{"write":["`+bobID+`"]}`) {
		t.Fatalf("author must own his record: %s", r.body)
	}

	// Batch sub-requests are checked one by one with the batch's identity.
	b := do(t, "POST", v1+"/batch", `{"requests":[{"path":"`+items+`/records/r1"},{"path":"`+items+`/records/r2"},{"method":"DELETE","path":"/buckets/shop"}]}`, bob).
		expectStatus(t, 200).json(t)["responses"].([]any)
	for i, want := range []string{"403", "200", "403"} {
		if got := fmt.Sprint(b[i].(map[string]any)["status"]); got != want {
			t.Errorf("batch response %d: %s, want %s", i, got, want)
		}
	}
	do(t, "GET", v1+"/buckets/shop", "", alice).expectStatus(t, 200)

	// The permissions endpoint lists what bob holds, inherited or not.
	perms := do(t, "GET", v1+"/permissions", "", bob).expectStatus(t, 200).body
	for _, want := range []string{
		`"uri":"/buckets/shop/collections/items/records/r2","resource_name":"record","permissions":["read"]`,
		`"uri":"/buckets/shop/collections/items/records/mine","resource_name":"record","permissions":["read","write"]`,
		`"uri":"/","resource_name":"root","permissions":["bucket:create"]`,
	} {
		if !strings.Contains(strings.ReplaceAll(perms, `"bucket_id":"shop","collection_id":"items","id":"r2",`, ""), want) && !containsEntry(perms, want) {
			t.Errorf("permissions endpoint lacks %s in %s", want, perms)
		}
	}
	if strings.Contains(perms, "/records/r1") {
		t.Errorf("permissions endpoint leaks r1: %s", perms)
	}
}

// containsEntry checks that the fields of want appear in one entry.
func containsEntry(body, want string) bool {
	for _, entry := range strings.Split(body, "},{") {
		ok := true
		for _, field := range splitFields(want) {
			if !strings.Contains(entry, field) {
				ok = false
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// splitFields splits `"a":1,"b":[...]` into its top-level fields.
func splitFields(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, c := range s {
		switch c {
		case '[', '{':
			depth++
		case ']', '}':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

// TestDefaultBucket checks that /buckets/default is each user's own
// bucket, created on first use with its collections, and that two users
// never see each other's.
func TestDefaultBucket(t *testing.T) {
	s := testserver.Start(t, secured)
	v1 := s.URL() + "/v1"
	alice, bob := basic("alice"), basic("bob")
	aliceBucket, bobBucket := personalBucket(userID("alice")), personalBucket(userID("bob"))

	do(t, "GET", v1+"/buckets/default", "").expect(t, 401, msg401)
	info := do(t, "GET", v1+"/", "", alice).expectStatus(t, 200).json(t)["user"].(map[string]any)
	if info["id"] != userID("alice") || info["bucket"] != aliceBucket {
		t.Fatalf("user info: %v", info)
	}
	if p := fmt.Sprint(info["principals"]); p != fmt.Sprintf("[%s system.Everyone system.Authenticated]", userID("alice")) {
		t.Fatalf("principals: %s", p)
	}

	r := do(t, "PUT", v1+"/buckets/default/collections/tasks/records/t1", `{"data":{"title":"mine"}}`, alice).expectStatus(t, 201)
	if !strings.Contains(r.body, `"title":"mine"`) {
		t.Fatalf("record in default bucket: %s", r.body)
	}
	do(t, "GET", v1+"/buckets/"+aliceBucket+"/collections/tasks/records/t1", "", alice).expectStatus(t, 200)
	got := do(t, "GET", v1+"/buckets/default", "", alice).expectStatus(t, 200).json(t)["data"].(map[string]any)["id"]
	if got != aliceBucket {
		t.Fatalf("alice's default bucket id = %v, want %s", got, aliceBucket)
	}

	// Bob's default bucket is his own, empty, and alice's is closed to him.
	do(t, "GET", v1+"/buckets/default/collections/tasks/records", "", bob).expect(t, 200, `{"data":[]}`)
	if got := do(t, "GET", v1+"/buckets/default", "", bob).json(t)["data"].(map[string]any)["id"]; got != bobBucket || bobBucket == aliceBucket {
		t.Fatalf("bob's default bucket = %v (alice's %s)", got, aliceBucket)
	}
	do(t, "GET", v1+"/buckets/"+aliceBucket+"/collections/tasks/records", "", bob).expect(t, 403, msg403)
	do(t, "GET", v1+"/buckets/"+aliceBucket+"/collections/tasks/records/t1", "", bob).expect(t, 403, msg403)

	// Implicit collections inside a batch.
	b := do(t, "POST", v1+"/batch", `{"requests":[{"method":"PUT","path":"/buckets/default/collections/notes/records/n1","body":{"data":{}}}]}`, bob).
		expectStatus(t, 200).json(t)["responses"].([]any)
	if st := fmt.Sprint(b[0].(map[string]any)["status"]); st != "201" {
		t.Fatalf("batch write in default bucket: %v", b[0])
	}
	do(t, "GET", v1+"/buckets/"+bobBucket+"/collections/notes/records/n1", "", bob).expectStatus(t, 200)
}

// TestCaddyAuthIdentity checks that a user authenticated by Caddy's own
// basic_auth becomes the principal account:<id>.
func TestCaddyAuthIdentity(t *testing.T) {
	hash, err := bcrypt.GenerateFromPassword([]byte("secret"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(secured, "\tdocstore {", "\tbasic_auth {\n\t\tdave "+string(hash)+"\n\t}\n\tdocstore {", 1)
	s := testserver.Start(t, cfg)
	auth := "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte("dave:secret"))
	r := do(t, "PUT", s.URL()+"/v1/buckets/daves", `{}`, auth).expectStatus(t, 201)
	if !strings.HasPrefix(r.body, `{"permissions":{"write":["account:dave"]}`) {
		t.Fatalf("the Caddy-authenticated user must own the bucket: %s", r.body)
	}
	info := do(t, "GET", s.URL()+"/v1/", "", auth).json(t)["user"].(map[string]any)
	if info["id"] != "account:dave" {
		t.Fatalf("user info: %v", info)
	}
	do(t, "GET", s.URL()+"/v1/buckets/daves", "").expectStatus(t, 401)
}
