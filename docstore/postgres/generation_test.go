package postgres

import (
	"context"
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
}
