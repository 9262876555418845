package caddymodule

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// changesConfigCtx is the context of a new, empty config, as Caddy gives
// every module of one config: modules provisioned in it share its app.
func changesConfigCtx(t *testing.T) caddy.Context {
	root, err := caddy.ProvisionContext(&caddy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := caddy.NewContext(root)
	t.Cleanup(cancel)
	return ctx
}

func changesDocstore(path string) *Docstore {
	return &Docstore{Storage: &StorageConfig{Path: path}, UserIDHMACSecret: "test-secret-of-16-bytes", InsecureAllowAll: true}
}

// changesServe runs a request through changes then the docstore, as a
// route does.
func changesServe(t *testing.T, c *Changes, d *Docstore, target string) *httptest.ResponseRecorder {
	t.Helper()
	w := httptest.NewRecorder()
	next := caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error { return d.ServeHTTP(w, r, nil) })
	if err := c.ServeHTTP(w, httptest.NewRequest("GET", target, nil), next); err != nil {
		t.Fatalf("%s: %v", target, err)
	}
	return w
}

func changesProvision(t *testing.T, ctx caddy.Context, m caddy.Provisioner) {
	t.Helper()
	if err := m.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.(caddy.CleanerUpper).Cleanup() })
}

// TestChangesDocstoreLinkEitherOrder: changes finds its config's
// docstore whether it is provisioned before or after it, and announces
// its capability there.
func TestChangesDocstoreLinkEitherOrder(t *testing.T) {
	for _, changesFirst := range []bool{true, false} {
		ctx := changesConfigCtx(t)
		c := &Changes{Resources: []string{"/buckets/main"}}
		d := changesDocstore(filepath.Join(t.TempDir(), "data.db"))
		if changesFirst {
			changesProvision(t, ctx, c)
			changesProvision(t, ctx, d)
		} else {
			changesProvision(t, ctx, d)
			changesProvision(t, ctx, c)
		}
		w := changesServe(t, c, d, "/v1/buckets/monitor/collections/changes/changeset?_expected=0")
		if w.Code != 200 || !strings.Contains(w.Body.String(), `"changes":[]`) {
			t.Fatalf("changes first %v: %d %s", changesFirst, w.Code, w.Body)
		}
		if w := changesServe(t, c, d, "/v1/"); !strings.Contains(w.Body.String(), `"collections":["/buckets/main"]`) {
			t.Fatalf("changes first %v: no capability in %s", changesFirst, w.Body)
		}
	}
}

// TestChangesDocstoreLinkPerConfig: a changes module never links to a
// docstore of another config (the one a reload replaces), and several
// docstores over different storages need a name.
func TestChangesDocstoreLinkPerConfig(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")
	old := changesConfigCtx(t)
	changesProvision(t, old, changesDocstore(a))

	ctx := changesConfigCtx(t)
	c := &Changes{}
	changesProvision(t, ctx, c)
	if c.live.handler.Load() != nil {
		t.Fatal("linked to another config's docstore")
	}
	changesProvision(t, ctx, changesDocstore(a))
	if c.live.handler.Load() == nil {
		t.Fatal("not linked to its config's docstore")
	}
	// A second docstore over another storage makes the unnamed claim
	// ambiguous: that docstore is refused.
	err := changesDocstore(b).Provision(ctx)
	if err == nil || !strings.Contains(err.Error(), "several docstores") {
		t.Fatalf("ambiguous docstore accepted: %v", err)
	}

	named := changesConfigCtx(t)
	n := &Changes{Docstore: b}
	changesProvision(t, named, changesDocstore(a))
	changesProvision(t, named, n)
	if n.live.handler.Load() != nil {
		t.Fatal("linked to the docstore it does not name")
	}
	changesProvision(t, named, changesDocstore(b))
	if n.live.handler.Load() == nil {
		t.Fatal("not linked to the docstore it names")
	}
}
