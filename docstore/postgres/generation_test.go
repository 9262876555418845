package postgres

import (
	"context"
	"fmt"
	"testing"

	"github.com/changegate/changegate/docstore"
)

// TestGenerationOfEveryWriter: writes by Kinto (its own statements) and
// plain SQL are versions too, numbered by the trigger after changegate's;
// a row from before the column counts as 1; the timestamp fix-up of a
// changegate write is no second version.
func TestGenerationOfEveryWriter(t *testing.T) {
	e, dsn := openTest(t)
	ctx := context.Background()
	db := sqlConn(t, dsn)
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := db.Exec(ctx, sql, args...); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	gen := func(id string) int64 {
		t.Helper()
		var obj *docstore.Object
		err := e.View(ctx, func(tx docstore.Tx) error {
			var err error
			obj, err = tx.GetVersion(coll, docstore.KindRecord, id)
			return err
		})
		if err != nil {
			t.Fatalf("reading %s: %v", id, err)
		}
		return obj.Generation
	}
	step := func(what, id string, want int64) {
		t.Helper()
		if g := gen(id); g != want {
			t.Fatalf("%s: generation of %s = %d; want %d", what, id, g, want)
		}
	}

	put(t, e, coll, docstore.KindRecord, &docstore.Object{ID: "r1", LastModified: 1700000000100, Data: []byte(`{"id":"r1"}`)})
	step("changegate create", "r1", 1)
	// Kinto's update_object and delete_object.
	exec(`UPDATE objects SET data = '{"v": 2}', last_modified = from_epoch(1700000000200) WHERE id = 'r1'`)
	step("Kinto update", "r1", 2)
	exec(`UPDATE objects SET deleted = TRUE, data = '{"deleted": true}', last_modified = from_epoch(1700000000300) WHERE id = 'r1'`)
	step("Kinto delete", "r1", 3)
	// Kinto's create_object over a tombstone.
	kintoCreate := `INSERT INTO objects (id, parent_id, resource_name, data, last_modified, deleted)
		VALUES ($1, $2, 'record', '{"v": 4}', from_epoch($3), FALSE)
		ON CONFLICT (id, parent_id, resource_name) DO UPDATE
		SET last_modified = from_epoch($3), data = '{"v": 4}', deleted = FALSE
		WHERE objects.deleted = TRUE`
	exec(kintoCreate, "r1", coll, int64(1700000000400))
	step("Kinto re-create", "r1", 4)
	exec(kintoCreate, "r2", coll, int64(1700000000500))
	step("Kinto create", "r2", 1)
	put(t, e, coll, docstore.KindRecord, &docstore.Object{ID: "r1", LastModified: 1700000000600, Data: []byte(`{"id":"r1"}`)})
	step("changegate update after Kinto's", "r1", 5)

	// The list's newest timestamp again: Kinto's trigger moves it, our
	// fix-up sets it back, still one version.
	put(t, e, coll, docstore.KindRecord, &docstore.Object{ID: "r1", LastModified: 1700000000600, Data: []byte(`{"id":"r1","v":6}`)})
	step("changegate write with a fixed-up timestamp", "r1", 6)
	exec(`UPDATE objects SET data = '{"v": 2}' WHERE id = 'r2'`)
	step("SQL update", "r2", 2)

	// A row written before the column existed.
	exec(`UPDATE objects SET changegate_gen = NULL WHERE id = 'r2'`)
	step("row without a generation", "r2", 1)
	put(t, e, coll, docstore.KindRecord, &docstore.Object{ID: "r2", LastModified: 1700000000700, Deleted: true})
	step("changegate delete of a row without a generation", "r2", 2)
	exec(`UPDATE objects SET changegate_gen = NULL WHERE id = 'r2'`)
	exec(`UPDATE objects SET data = '{"v": 3}', deleted = FALSE, last_modified = from_epoch(1700000000800) WHERE id = 'r2'`)
	step("SQL update of a row without a generation", "r2", 2)

	// The changegate before generations, still running beside this one
	// during a rolling upgrade: its upsert sets a new changegate_rev,
	// not changegate_gen.
	olderUpsert := `INSERT INTO objects AS o (id, parent_id, resource_name, data, last_modified, deleted, changegate_rev)
		VALUES ($1, $2, 'record', '{"v": 9}', from_epoch($3), FALSE, $4)
		ON CONFLICT (id, parent_id, resource_name) DO UPDATE SET
			data = EXCLUDED.data, last_modified = EXCLUDED.last_modified, deleted = EXCLUDED.deleted,
			changegate_rev = EXCLUDED.changegate_rev`
	exec(olderUpsert, "r1", coll, int64(1700000000900), int64(424242))
	step("update by an older changegate", "r1", 7)
	exec(olderUpsert, "r3", coll, int64(1700000001000), int64(434343))
	step("create by an older changegate", "r3", 1)
}

// TestGenerationOnEarlierSchema: a schema a previous changegate set up
// (no changegate_gen, no trigger), holding rows, gets the column when
// opened, its rows counting as generation 1; opening again renumbers
// nothing, and Kinto's columns are untouched.
func TestGenerationOnEarlierSchema(t *testing.T) {
	e, dsn := openTest(t)
	ctx := context.Background()
	put(t, e, coll, docstore.KindRecord, &docstore.Object{ID: "r1", LastModified: 1700000000100, Data: []byte(`{"id":"r1"}`)})
	put(t, e, coll, docstore.KindRecord, &docstore.Object{ID: "r2", LastModified: 1700000000200, Data: []byte(`{"id":"r2"}`)})
	e.Close()
	db := sqlConn(t, dsn)
	exec := func(sql string) {
		t.Helper()
		if _, err := db.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	exec(`DROP TRIGGER changegate_objects_gen ON objects`)
	exec(`DROP FUNCTION changegate_generation()`)
	exec(`ALTER TABLE objects DROP COLUMN changegate_gen`)
	// Kinto writes while the older changegate ran.
	exec(`UPDATE objects SET data = '{"v": 2}', last_modified = from_epoch(1700000000300) WHERE id = 'r2'`)
	kintoColumns := func() string {
		t.Helper()
		var s string
		err := db.QueryRow(ctx, `SELECT string_agg(id || ' ' || data::text || ' ' || as_epoch(last_modified) || ' ' || deleted, '; ' ORDER BY id) FROM objects`).Scan(&s)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	before := kintoColumns()

	gens := func() string {
		t.Helper()
		e, err := Open(ctx, dsn, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		var s string
		err = e.View(ctx, func(tx docstore.Tx) error {
			for _, id := range []string{"r1", "r2"} {
				obj, err := tx.GetVersion(coll, docstore.KindRecord, id)
				if err != nil {
					return err
				}
				s += fmt.Sprintf("%s:%d ", id, obj.Generation)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if g := gens(); g != "r1:1 r2:1 " {
		t.Fatalf("generations after the upgrade: %s; want 1 each", g)
	}
	if after := kintoColumns(); after != before {
		t.Fatalf("Kinto's columns changed by the upgrade:\n%s\nwas\n%s", after, before)
	}
	exec(`UPDATE objects SET data = '{"v": 3}' WHERE id = 'r2'`)
	if g := gens(); g != "r1:1 r2:2 " {
		t.Fatalf("generations opened again after a Kinto write: %s; want r2 at 2", g)
	}
}
