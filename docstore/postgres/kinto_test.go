package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/changegate/changegate/docstore"
)

const coll = "/buckets/b/collections/c"

func put(t *testing.T, e *Engine, parent, kind string, objs ...*docstore.Object) {
	t.Helper()
	err := e.Update(context.Background(), func(tx docstore.Tx) error {
		for _, o := range objs {
			if err := tx.Put(parent, kind, o); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// sqlConn connects to the engine's schema directly.
func sqlConn(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), strings.Replace(dsn, "pool_max_conns=4", "application_name=kinto", 1))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}

// TestKintoLayout: what changegate writes is what Kinto stores: data
// without id and last_modified, tombstones as {"deleted": true},
// permissions as access control entries keyed by the object's URI.
func TestKintoLayout(t *testing.T) {
	e, dsn := openTest(t)
	put(t, e, coll, docstore.KindRecord, &docstore.Object{ID: "r1", LastModified: 1700000000123,
		Data:        json.RawMessage(`{"id":"r1", "last_modified":1700000000123, "title":"été", "n":[1,2]}`),
		Permissions: docstore.Permissions{"write": {"account:bob", "account:alice"}, "read": {"system.Everyone"}}})
	put(t, e, coll, docstore.KindRecord, &docstore.Object{ID: "r2", LastModified: 1700000000124, Deleted: true})
	db := sqlConn(t, dsn)
	rows, _ := db.Query(context.Background(), `SELECT id, as_epoch(last_modified), data::TEXT, deleted FROM objects ORDER BY id`)
	got, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (string, error) {
		var id, data string
		var lm int64
		var deleted bool
		err := r.Scan(&id, &lm, &data, &deleted)
		return fmt.Sprintf("%s|%d|%s|%t", id, lm, data, deleted), err
	})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{`r1|1700000000123|{"n": [1, 2], "title": "été"}|false`, `r2|1700000000124|{"deleted": true}|true`}
	if !slices.Equal(got, want) {
		t.Fatalf("objects rows = %q; want %q", got, want)
	}
	rows, _ = db.Query(context.Background(), `SELECT object_id || ' ' || permission || ' ' || principal FROM access_control_entries ORDER BY 1`)
	aces, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	wantACE := []string{
		coll + "/records/r1 read system.Everyone",
		coll + "/records/r1 write account:alice",
		coll + "/records/r1 write account:bob",
	}
	if !slices.Equal(aces, wantACE) {
		t.Fatalf("access_control_entries = %q; want %q", aces, wantACE)
	}
}

// TestReadsKintoWrites: rows written by someone else (Kinto's own
// statements) are read from data and access_control_entries, even when
// they replace a row changegate wrote.
func TestReadsKintoWrites(t *testing.T) {
	e, dsn := openTest(t)
	put(t, e, coll, docstore.KindRecord, &docstore.Object{ID: "r1", LastModified: 1000,
		Data: json.RawMessage(`{"id":"r1","last_modified":1000,"v":1}`), Permissions: docstore.Permissions{"write": {"a"}}})
	db := sqlConn(t, dsn)
	// Kinto's update statement, with its trigger assigning last_modified.
	_, err := db.Exec(context.Background(), `INSERT INTO objects (id, parent_id, resource_name, data, last_modified, deleted)
		VALUES ('r1', $1, 'record', '{"v": 2}', from_epoch(NULL), FALSE)
		ON CONFLICT (id, parent_id, resource_name) DO UPDATE
		SET data = '{"v": 2}', deleted = FALSE, last_modified = GREATEST(from_epoch(NULL), EXCLUDED.last_modified)`, coll)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(context.Background(), `INSERT INTO access_control_entries VALUES ($1, 'read', 'system.Authenticated')`, coll+"/records/r1"); err != nil {
		t.Fatal(err)
	}
	var obj *docstore.Object
	err = e.View(context.Background(), func(tx docstore.Tx) (err error) {
		obj, err = tx.Get(coll, docstore.KindRecord, "r1")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if obj.LastModified <= 1000 {
		t.Fatalf("last_modified %d; want Kinto's bumped timestamp", obj.LastModified)
	}
	var data map[string]any
	if err := json.Unmarshal(obj.Data, &data); err != nil || data["v"] != 2.0 || data["id"] != "r1" || data["last_modified"] != float64(obj.LastModified) {
		t.Fatalf("data %s (%v); want v 2 with id and last_modified", obj.Data, err)
	}
	if !slices.Equal(obj.Permissions["read"], []string{"system.Authenticated"}) || !slices.Equal(obj.Permissions["write"], []string{"a"}) {
		t.Fatalf("permissions %v", obj.Permissions)
	}
	// The list timestamp follows Kinto's objects.
	var ts int64
	err = e.View(context.Background(), func(tx docstore.Tx) (err error) {
		ts, _, err = tx.Timestamp(coll, docstore.KindRecord)
		return err
	})
	if err != nil || ts != obj.LastModified {
		t.Fatalf("timestamp %d, %v; want %d", ts, err, obj.LastModified)
	}
}

// TestTriggerAgrees: a write whose last_modified equals the list's newest
// (which Kinto's trigger would bump) keeps the timestamp changegate chose.
func TestTriggerAgrees(t *testing.T) {
	e, _ := openTest(t)
	put(t, e, coll, docstore.KindRecord, &docstore.Object{ID: "r1", LastModified: 50, Data: json.RawMessage(`{"v":1}`)})
	put(t, e, coll, docstore.KindRecord, &docstore.Object{ID: "r1", LastModified: 50, Data: json.RawMessage(`{"v":2}`)})
	err := e.View(context.Background(), func(tx docstore.Tx) error {
		obj, err := tx.Get(coll, docstore.KindRecord, "r1")
		if err == nil && (obj.LastModified != 50 || string(obj.Data) != `{"v":2}`) {
			err = errors.New("got " + string(obj.Data))
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSchemaVersions: an unknown schema version is refused, naming what
// was found and what is supported; a second Open of a current schema
// succeeds and changes nothing.
func TestSchemaVersions(t *testing.T) {
	e, dsn := openTest(t)
	e.Close()
	e2, err := Open(context.Background(), dsn, Options{})
	if err != nil {
		t.Fatalf("second Open: %v", err)
	}
	e2.Close()
	db := sqlConn(t, dsn)
	var n int
	if err := db.QueryRow(context.Background(), `SELECT count(*) FROM metadata`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("metadata holds %d rows (%v); want 3 (created_at and two versions)", n, err)
	}
	if _, err := db.Exec(context.Background(), `INSERT INTO metadata VALUES ('storage_schema_version', '27')`); err != nil {
		t.Fatal(err)
	}
	_, err = Open(context.Background(), dsn, Options{})
	if err == nil || !strings.Contains(err.Error(), "version 27 found") || !strings.Contains(err.Error(), "supports version 26") {
		t.Fatalf("Open on schema 27: %v; want a refusal naming 27 and 26", err)
	}
}

// TestScanDistinct: order, Since, Ascending and stopping on distinct
// timestamps (the shared suite's fixtures hold ties this schema refuses).
func TestScanDistinct(t *testing.T) {
	e, _ := openTest(t)
	for i, id := range []string{"a", "b", "c", "d", "e"} {
		o := &docstore.Object{ID: id, LastModified: int64(10 * (i + 1)), Data: json.RawMessage(`{}`)}
		if id == "c" {
			o = &docstore.Object{ID: id, LastModified: 30, Deleted: true}
		}
		put(t, e, coll, docstore.KindRecord, o)
	}
	scan := func(opts docstore.ScanOptions) string {
		var ids []string
		err := e.View(context.Background(), func(tx docstore.Tx) error {
			ids = nil
			return tx.Scan(coll, docstore.KindRecord, opts, func(o *docstore.Object) (bool, error) {
				ids = append(ids, o.ID)
				return true, nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(ids, "")
	}
	err := e.View(context.Background(), func(tx docstore.Tx) error {
		return tx.Scan(coll+"-empty", docstore.KindRecord, docstore.ScanOptions{Ascending: true}, func(*docstore.Object) (bool, error) {
			return false, errors.New("visited an object of an empty list")
		})
	})
	if err != nil {
		t.Fatalf("ascending scan of an empty list: %v", err)
	}
	cases := map[string]docstore.ScanOptions{
		"edba":  {},
		"edcba": {IncludeDeleted: true},
		"ed":    {Since: 30},
		"edc":   {Since: 20, IncludeDeleted: true},
		"abde":  {Ascending: true},
		"cde":   {Ascending: true, Since: 20, IncludeDeleted: true},
		"":      {Since: maxMillis},
	}
	for want, opts := range cases {
		if got := scan(opts); got != want {
			t.Errorf("Scan(%+v) = %q; want %q", opts, got, want)
		}
	}
}

// TestGroupMembers: groups are mirrored into user_principals, where
// Kinto's permission backend looks up a user's groups.
func TestGroupMembers(t *testing.T) {
	e, dsn := openTest(t)
	const bucket = "/buckets/b"
	group := func(lm int64, members string) *docstore.Object {
		return &docstore.Object{ID: "g", LastModified: lm, Data: json.RawMessage(`{"id":"g","members":` + members + `}`)}
	}
	db := sqlConn(t, dsn)
	rows := func() []string {
		r, _ := db.Query(context.Background(), `SELECT user_id || ' ' || principal FROM user_principals ORDER BY 1`)
		out, err := pgx.CollectRows(r, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	put(t, e, bucket, docstore.KindGroup, group(1, `["account:alice","account:bob"]`))
	if got, want := rows(), []string{"account:alice /buckets/b/groups/g", "account:bob /buckets/b/groups/g"}; !slices.Equal(got, want) {
		t.Fatalf("user_principals = %q; want %q", got, want)
	}
	put(t, e, bucket, docstore.KindGroup, group(2, `["account:carol"]`))
	if got, want := rows(), []string{"account:carol /buckets/b/groups/g"}; !slices.Equal(got, want) {
		t.Fatalf("user_principals = %q; want %q", got, want)
	}
	put(t, e, bucket, docstore.KindGroup, &docstore.Object{ID: "g", LastModified: 3, Deleted: true})
	if got := rows(); len(got) != 0 {
		t.Fatalf("user_principals after deletion = %q; want none", got)
	}
	put(t, e, bucket, docstore.KindGroup, group(4, `["account:dan"]`))
	err := e.Update(context.Background(), func(tx docstore.Tx) error { return tx.DeleteTree(bucket) })
	if err != nil {
		t.Fatal(err)
	}
	if got := rows(); len(got) != 0 {
		t.Fatalf("user_principals after deleting the bucket's tree = %q; want none", got)
	}
}
