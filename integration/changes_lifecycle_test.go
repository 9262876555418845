package integration

import (
	"strings"
	"testing"

	"github.com/changegate/changegate/internal/testserver"
)

// changesWrite seeds main/a with one record as alice.
func changesWrite(t *testing.T, v1 string) {
	t.Helper()
	changesCreate(t, v1, "main", "a")
	changesPost(t, v1, "/buckets/main/collections/a", `{"n":1}`)
}

// TestChangesReloadKeepsState: the registry, the changeset cache and
// the links survive a config reload.
func TestChangesReloadKeepsState(t *testing.T) {
	cfg := strings.Replace(changesConfig(), "resources /buckets/blocklists", "resources /buckets/main", 1)
	s := testserver.Start(t, cfg)
	v1 := s.URL() + "/v1"
	changesWrite(t, v1)
	cs := v1 + "/buckets/main/collections/a/changeset?_expected=1"
	first := do(t, "GET", cs, "", basic("alice")).expectHeader(t, "Cache-Status", "changegate; fwd=miss; stored")
	monitor := do(t, "GET", v1+monitorChangeset+"?_expected=0", "").expectStatus(t, 200)

	changesReload(t, s, strings.Replace(cfg, "http_host www.kinto-storage.org", "http_host www.kinto-storage.org\n\t\thttp_scheme https", 1))
	do(t, "GET", cs, "", basic("alice")).expect(t, 200, first.body).expectHeader(t, "Cache-Status", "changegate; hit")
	do(t, "GET", v1+monitorChangeset+"?_expected=0", "").expect(t, 200, monitor.body)
	changesPost(t, v1, "/buckets/main/collections/a", `{"n":2}`)
	if entries := changesEntries(t, do(t, "GET", v1+monitorChangeset+"?_expected=0", "").body, "changes"); len(entries) != 1 ||
		changesNumber(t, entries[0]["last_modified"]) <= changesNumber(t, monitor.json(t)["timestamp"]) {
		t.Fatalf("monitor not following writes after reload: %v", entries)
	}
}

// TestChangesDocstoreProvisionedFirst: a docstore over the same storage
// provisioned before changes (in a route) is linked as well as one after
// it.
func TestChangesDocstoreProvisionedFirst(t *testing.T) {
	s := testserver.Start(t, changesGlobal+`:{port} {
	route {
		handle_path /admin/* {
			docstore {
				storage bolt {dir}/data.db
				userid_hmac_secret test-secret-of-16-bytes
			}
		}
		changes {
			resources /buckets/main
			monitor_visibility all
		}
		docstore {
			storage bolt {dir}/data.db
			userid_hmac_secret test-secret-of-16-bytes
		}
	}
}
`)
	v1 := s.URL() + "/v1"
	changesWrite(t, v1)
	if _, ok := do(t, "GET", v1+"/", "").json(t)["capabilities"].(map[string]any)["changes"]; !ok {
		t.Fatal("no changes capability")
	}
	do(t, "GET", v1+"/buckets/main/collections/a/changeset?_expected=1", "").expect(t, 401, msg401)
	do(t, "GET", v1+"/buckets/main/collections/a/changeset?_expected=1", "", basic("alice")).expectStatus(t, 200)
	if n := len(changesList(t, do(t, "GET", v1+monitorChangeset+"?_expected=0", "").body, "changes")); n != 1 {
		t.Fatalf("%d monitor entries", n)
	}
}

// changesTwoStores has two docstores over different storages; changes
// reads the one its docstore option names.
const changesTwoStores = changesGlobal + `:{port} {
	handle /v1/* {
		changes {
			NAME
			resources /buckets/main
			monitor_visibility all
		}
		docstore {
			storage bolt {dir}/a.db
			userid_hmac_secret test-secret-of-16-bytes
		}
	}
	handle /other/* {
		docstore {
			storage bolt {dir}/b.db
			prefix /other
			userid_hmac_secret test-secret-of-16-bytes
		}
	}
}
`

// TestChangesSeveralDocstores: with several docstores, changes reads and
// announces itself on the one it names; not naming one is refused.
func TestChangesSeveralDocstores(t *testing.T) {
	s := testserver.Start(t, strings.Replace(changesTwoStores, "NAME", "docstore {dir}/a.db", 1))
	v1 := s.URL() + "/v1"
	changesWrite(t, v1)
	other := s.URL() + "/other"
	changesCreate(t, other, "main", "b")
	changesPost(t, other, "/buckets/main/collections/b", `{}`)

	e := changesEntries(t, do(t, "GET", v1+monitorChangeset+"?_expected=0", "").body, "changes")
	if len(e) != 1 || e[0]["collection"] != "a" {
		t.Fatalf("monitor of a.db: %v", e)
	}
	if _, ok := do(t, "GET", v1+"/", "").json(t)["capabilities"].(map[string]any)["changes"]; !ok {
		t.Fatal("no changes capability on the named docstore")
	}
	if _, ok := do(t, "GET", other+"/", "").json(t)["capabilities"].(map[string]any)["changes"]; ok {
		t.Fatal("changes capability on the other docstore")
	}

	err := s.Reload(strings.Replace(changesTwoStores, "NAME", "", 1))
	if err == nil || !strings.Contains(err.Error(), "several docstores") {
		t.Fatalf("ambiguous config accepted: %v", err)
	}
	// The running config is untouched.
	do(t, "GET", v1+monitorChangeset+"?_expected=0", "").expectStatus(t, 200)
}

// TestChangesReloadRelinks: each config links changes to the docstore it
// names, so a reload that names the other storage moves the monitor and
// the capability to it, and a reload back moves them back, following
// writes.
func TestChangesReloadRelinks(t *testing.T) {
	naming := func(file string) string { return strings.Replace(changesTwoStores, "NAME", "docstore {dir}/"+file, 1) }
	s := testserver.Start(t, naming("a.db"))
	v1, other := s.URL()+"/v1", s.URL()+"/other"
	changesWrite(t, v1)
	changesCreate(t, other, "main", "b")
	changesPost(t, other, "/buckets/main/collections/b", `{}`)
	monitored := func(want string) {
		t.Helper()
		e := changesEntries(t, do(t, "GET", v1+monitorChangeset+"?_expected=0", "").body, "changes")
		if len(e) != 1 || e[0]["collection"] != want {
			t.Fatalf("monitor, want collection %s: %v", want, e)
		}
		for root, announced := range map[string]bool{v1: want == "a", other: want == "b"} {
			if _, ok := do(t, "GET", root+"/", "").json(t)["capabilities"].(map[string]any)["changes"]; ok != announced {
				t.Fatalf("changes capability on %s/: %v, want %v", root, ok, announced)
			}
		}
	}
	monitored("a")

	if err := s.Reload(naming("b.db")); err != nil {
		t.Fatal(err)
	}
	monitored("b")

	if err := s.Reload(naming("a.db")); err != nil {
		t.Fatal(err)
	}
	monitored("a")
	before := changesNumber(t, do(t, "GET", v1+monitorChangeset+"?_expected=0", "").json(t)["timestamp"])
	changesPost(t, v1, "/buckets/main/collections/a", `{"n":2}`)
	if after := changesNumber(t, do(t, "GET", v1+monitorChangeset+"?_expected=0", "").json(t)["timestamp"]); after <= before {
		t.Fatalf("monitor not following writes after two reloads: %v then %v", before, after)
	}
}

// TestChangesWithoutDocstore: changes alone answers its endpoints with a
// 500 (nothing to read) and passes everything else on.
func TestChangesWithoutDocstore(t *testing.T) {
	s := testserver.Start(t, changesGlobal+`:{port} {
	changes
	respond "next" 200
}
`)
	do(t, "GET", s.URL()+"/v1"+monitorChangeset+"?_expected=0", "").expectStatus(t, 500)
	do(t, "GET", s.URL()+"/v1/buckets", "").expect(t, 200, "next")
	if !strings.Contains(s.Log(), "no docstore in this config") {
		t.Fatalf("error not logged:\n%s", s.Log())
	}
}

// TestChangesRestart: the registry is rebuilt from storage at start.
func TestChangesRestart(t *testing.T) {
	cfg := strings.Replace(changesConfig(), "resources /buckets/blocklists", "resources /buckets/main", 1)
	s := testserver.Start(t, cfg)
	v1 := s.URL() + "/v1"
	changesWrite(t, v1)
	changesCreate(t, v1, "main", "b")
	changesPost(t, v1, "/buckets/main/collections/b", `{}`)
	monitor := do(t, "GET", v1+monitorChangeset+"?_expected=0", "").expectStatus(t, 200)
	records := do(t, "GET", v1+monitorRecords, "").expectStatus(t, 200)
	cs := do(t, "GET", v1+"/buckets/main/collections/a/changeset?_expected=1", "", basic("alice")).expectStatus(t, 200)

	s.Kill()
	s.Restart()
	do(t, "GET", v1+monitorChangeset+"?_expected=0", "").expect(t, 200, monitor.body)
	do(t, "GET", v1+monitorRecords, "").expect(t, 200, records.body).expectHeader(t, "ETag", records.header.Get("ETag"))
	do(t, "GET", v1+"/buckets/main/collections/a/changeset?_expected=1", "", basic("alice")).expect(t, 200, cs.body)
}
