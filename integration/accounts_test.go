package integration

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/changegate/changegate/internal/testserver"
)

// accountsCaddyfile enables the accounts feature as Kinto's own tests
// configure the plugin: accounts are the only authentication, anyone may
// create an account, account:admin administers them all.
const accountsCaddyfile = changesGlobal + `:{port} {
	docstore {
		storage bolt {dir}/data.db
		userid_hmac_secret test-secret-of-16-bytes
		basicauth off
		permissions_endpoint
		accounts {
			create_principals system.Everyone
			write_principals account:admin
			bcrypt_cost 4
		}
	}
}
`

// auth is the Basic Authorization header of user and password.
func auth(user, password string) string {
	return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

// TestAccounts follows Kinto's accounts plugin tests through a real
// server: creation, authentication, updates, deletion, visibility and
// administrators.
func TestAccounts(t *testing.T) {
	s := testserver.Start(t, accountsCaddyfile)
	v1 := s.URL() + "/v1"

	caps := do(t, "GET", v1+"/", "").json(t)["capabilities"].(map[string]any)
	if fmt.Sprint(caps["accounts"]) != "map[description:Manage user accounts. url:https://kinto.readthedocs.io/en/latest/api/1.x/accounts.html validation_enabled:false]" {
		t.Fatalf("accounts capability: %v", caps["accounts"])
	}

	// Creation, anonymous, by POST or PUT; the password is stored hashed.
	created := do(t, "PUT", v1+"/accounts/alice", `{"data":{"password":"123456"}}`).expectStatus(t, 201)
	data := created.json(t)["data"].(map[string]any)
	hash := fmt.Sprint(data["password"])
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte("123456")) != nil {
		t.Fatalf("stored password is not the bcrypt hash of the password: %s", created.body)
	}
	created.expect(t, 201, fmt.Sprintf(`{"permissions":{"write":["account:alice"]},"data":{"password":%q,"id":"alice","last_modified":%d}}`, hash, created.etag(t)))
	do(t, "POST", v1+"/accounts", `{"data":{"id":"me","password":"bouh","age":42}}`).expectStatus(t, 201)
	do(t, "PUT", v1+"/accounts/alice+test@example.com", `{"data":{"password":"x"}}`).expectStatus(t, 201)

	info := do(t, "GET", v1+"/", "", auth("me", "bouh")).json(t)["user"].(map[string]any)
	if info["id"] != "account:me" {
		t.Fatalf("user info: %v", info)
	}
	do(t, "POST", v1+"/accounts", `{"data":{"id":"nopw"}}`).
		expect(t, 400, `{"code":400,"errno":107,"error":"Invalid parameters","message":"data.password in body: Required","details":[{"location":"body","name":"data.password","description":"Required"}]}`)
	do(t, "POST", v1+"/accounts", `{"data":{"password":"pass"}}`).
		expect(t, 400, `{"code":400,"errno":107,"error":"Invalid parameters","message":"data.id in body: Required","details":[{"location":"body","name":"data.id","description":"data.id in body: Required"}]}`)
	// An existing account: anonymous callers may not learn about it, its
	// owner gets it back.
	do(t, "POST", v1+"/accounts", `{"data":{"id":"me","password":"not read"}}`).expect(t, 401, msg401)
	do(t, "POST", v1+"/accounts", `{"data":{"id":"me","password":"bouh"}}`, auth("me", "bouh")).expectStatus(t, 200)
	mismatch := `{"code":400,"errno":107,"error":"Invalid parameters","message":"data.id in body: Username and account ID do not match.","details":[{"location":"body","name":"data.id","description":"Username and account ID do not match."}]}`
	do(t, "POST", v1+"/accounts", `{"data":{"id":"you","password":"bouh"}}`, auth("me", "bouh")).expect(t, 400, mismatch)
	r := do(t, "PUT", v1+"/accounts/carol", `{"data":{"id":"bob","password":"bouh"}}`).expectStatus(t, 400)
	if !strings.Contains(r.body, "does not match") {
		t.Fatalf("id mismatch: %s", r.body)
	}

	// Visibility: your own account only.
	do(t, "GET", v1+"/accounts", "").expect(t, 401, msg401)
	do(t, "GET", v1+"/accounts/alice", "").expect(t, 401, msg401)
	list := do(t, "GET", v1+"/accounts", "", auth("alice", "123456")).expectStatus(t, 200)
	if n := len(list.json(t)["data"].([]any)); n != 1 || !strings.Contains(list.body, `"id":"alice"`) {
		t.Fatalf("alice's list: %s", list.body)
	}
	do(t, "GET", v1+"/accounts/me", "", auth("alice", "123456")).expect(t, 403, msg403)
	do(t, "GET", v1+"/accounts/jeanine", "", auth("alice", "123456")).expect(t, 403, msg403)
	do(t, "PATCH", v1+"/accounts/me", `{"data":{"password":"x"}}`, auth("alice", "123456")).expect(t, 403, msg403)

	// Metadata changes keep the password; a new password replaces the
	// old one at once (the verified-credentials cache is dropped).
	do(t, "PATCH", v1+"/accounts/alice", `{"data":{"age":"captain"}}`, auth("alice", "123456")).expectStatus(t, 200)
	after := do(t, "GET", v1+"/accounts/alice", "", auth("alice", "123456")).expectStatus(t, 200).json(t)["data"].(map[string]any)
	if after["password"] != hash || after["age"] != "captain" {
		t.Fatalf("after a metadata change: %v", after)
	}
	do(t, "PUT", v1+"/accounts/alice", `{"data":{"password":"bouh"}}`, auth("alice", "123456")).expectStatus(t, 200)
	do(t, "GET", v1+"/accounts/alice", "", auth("alice", "123456")).expect(t, 401, msg401)
	do(t, "GET", v1+"/accounts/alice", "", auth("alice", "bouh")).expectStatus(t, 200)

	// Account principals are usable in permissions.
	do(t, "PUT", v1+"/buckets/a", `{"permissions":{"read":["account:me"]}}`, auth("alice", "bouh")).expectStatus(t, 201)
	do(t, "GET", v1+"/buckets/a", "", auth("me", "bouh")).expectStatus(t, 200)
	do(t, "GET", v1+"/buckets/a", "", auth("me", "wrong")).expect(t, 401, msg401)
	do(t, "GET", v1+"/permissions", "", auth("alice", "bouh")).expect(t, 200, `{"data":[`+
		`{"uri":"/buckets/a","resource_name":"bucket","permissions":["read","write","group:create","collection:create","read:attributes"],"id":"a","bucket_id":"a"},`+
		`{"uri":"/accounts/alice","resource_name":"account","permissions":["read","write"],"id":"alice","account_id":"alice"},`+
		`{"uri":"/","resource_name":"root","permissions":["account:create","bucket:create"]}]}`)

	// Deleting an account ends its authentication.
	do(t, "DELETE", v1+"/accounts/me", "", auth("me", "bouh")).expectStatus(t, 200)
	do(t, "GET", v1+"/accounts/me", "", auth("me", "bouh")).expect(t, 401, msg401)

	// Administrators see, change and delete every account.
	do(t, "PUT", v1+"/accounts/admin", `{"data":{"password":"123456"}}`).expectStatus(t, 201)
	do(t, "PUT", v1+"/accounts/bob", `{"data":{"password":"987654"}}`).expectStatus(t, 201)
	admin := auth("admin", "123456")
	ids := []string{}
	for _, e := range do(t, "GET", v1+"/accounts?_sort=id", "", admin).expectStatus(t, 200).json(t)["data"].([]any) {
		ids = append(ids, fmt.Sprint(e.(map[string]any)["id"]))
	}
	if strings.Join(ids, ",") != "admin,alice,alice+test@example.com,bob" {
		t.Fatalf("admin's list: %v", ids)
	}
	do(t, "PATCH", v1+"/accounts/bob", `{"data":{"password":"bouh"}}`, admin).
		expectStatus(t, 200).json(t)
	do(t, "GET", v1+"/accounts/bob", "", auth("bob", "987654")).expect(t, 401, msg401)
	bob := do(t, "GET", v1+"/accounts/bob", "", auth("bob", "bouh")).expectStatus(t, 200)
	if !strings.HasPrefix(bob.body, `{"permissions":{"write":["account:bob"]}`) {
		t.Fatalf("an account written by an administrator belongs to itself: %s", bob.body)
	}
	do(t, "DELETE", v1+"/accounts", "", admin).expectStatus(t, 200)
	do(t, "GET", v1+"/accounts/bob", "", auth("bob", "bouh")).expect(t, 401, msg401)
}

// TestAccountsBeforeBasicauth: with basicauth on too, credentials that
// are not an account's make a basicauth identity (Kinto's multiauth
// tries the accounts policy first).
func TestAccountsBeforeBasicauth(t *testing.T) {
	s := testserver.Start(t, strings.Replace(accountsCaddyfile, "basicauth off", "basicauth on", 1))
	v1 := s.URL() + "/v1"
	do(t, "PUT", v1+"/accounts/me", `{"data":{"password":"bouh"}}`).expectStatus(t, 201)
	for pw, want := range map[string]string{"bouh": "account:me", "pw": userID("me")} {
		info := do(t, "GET", v1+"/", "", auth("me", pw)).json(t)["user"].(map[string]any)
		if info["id"] != want {
			t.Errorf("me:%s is %v, want %s", pw, info["id"], want)
		}
	}
}

// TestAccountsOffByDefault: without the accounts block, /accounts does
// not exist and any user:pass is a basicauth identity.
func TestAccountsOffByDefault(t *testing.T) {
	s := testserver.Start(t, secured)
	do(t, "PUT", s.URL()+"/v1/accounts/alice", `{"data":{"password":"x"}}`).
		expect(t, 404, `{"code":404,"errno":111,"error":"Not Found","message":"The resource you are looking for could not be found."}`)
}
