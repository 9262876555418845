package postgres

import (
	"context"
	"encoding/json"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/changegate/changegate/docstore"
)

// TestKintoPluginsLayout: accounts and history entries land where
// Kinto's accounts and history plugins keep them: an account under the
// parent of its own id, its permissions on "/accounts/<id>"; a history
// entry under its bucket, its read permission on
// "/buckets/<bid>/history/<id>". Rows Kinto wrote that way read back with
// their permissions.
func TestKintoPluginsLayout(t *testing.T) {
	e, dsn := openTest(t)
	put(t, e, "alice", docstore.KindAccount, &docstore.Object{ID: "alice", LastModified: 1700000000100,
		Data:        json.RawMessage(`{"id":"alice","last_modified":1700000000100,"password":"$2b$04$abc"}`),
		Permissions: docstore.Permissions{"write": {"account:alice"}}})
	put(t, e, "/buckets/b", docstore.KindHistory, &docstore.Object{ID: "h1", LastModified: 1700000000200,
		Data:        json.RawMessage(`{"id":"h1","last_modified":1700000000200,"action":"create","resource_name":"bucket","uri":"/buckets/b"}`),
		Permissions: docstore.Permissions{"read": {"account:alice"}}})
	db := sqlConn(t, dsn)
	ctx := context.Background()
	rows, _ := db.Query(ctx, `SELECT parent_id || ' ' || resource_name || ' ' || id FROM objects ORDER BY 1`)
	objs, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/buckets/b history h1", "alice account alice"}; !slices.Equal(objs, want) {
		t.Fatalf("objects = %q; want %q", objs, want)
	}
	rows, _ = db.Query(ctx, `SELECT object_id || ' ' || permission || ' ' || principal FROM access_control_entries ORDER BY 1`)
	aces, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/accounts/alice write account:alice", "/buckets/b/history/h1 read account:alice"}; !slices.Equal(aces, want) {
		t.Fatalf("access control entries = %q; want %q", aces, want)
	}

	// An account and a history entry as Kinto writes them.
	_, err = db.Exec(ctx, `INSERT INTO objects (id, parent_id, resource_name, last_modified, data, deleted) VALUES
		('bob', 'bob', 'account', from_epoch(1700000000300), '{"password": "$2b$04$def"}', FALSE),
		('h2', '/buckets/b', 'history', from_epoch(1700000000400), '{"action": "delete"}', FALSE);
		INSERT INTO access_control_entries (object_id, permission, principal) VALUES
		('/accounts/bob', 'write', 'account:bob'), ('/buckets/b/history/h2', 'read', 'system.Everyone')`)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ parent, kind, id, perm, principal string }{
		{"bob", docstore.KindAccount, "bob", "write", "account:bob"},
		{"/buckets/b", docstore.KindHistory, "h2", "read", "system.Everyone"},
	} {
		var got *docstore.Object
		err := e.View(ctx, func(tx docstore.Tx) error {
			var err error
			got, err = tx.Get(c.parent, c.kind, c.id)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if p := got.Permissions[c.perm]; len(p) != 1 || p[0] != c.principal {
			t.Fatalf("%s %s permissions = %v; want %s: [%s]", c.kind, c.id, got.Permissions, c.perm, c.principal)
		}
	}
}
