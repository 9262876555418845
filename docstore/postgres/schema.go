package postgres

import (
	"context"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"
)

// Schema versions of Kinto's PostgreSQL backends that this engine reads
// and writes: kinto.core's storage schema 26 and permission schema 2.
const (
	StorageSchemaVersion    = 26
	PermissionSchemaVersion = 2
)

// schemaLock is the advisory lock key held while checking and creating
// the schema, so that instances starting together do not race.
const schemaLock = 0x6368616e676567 // "changeg"

// storageDDL creates the layout of Kinto's storage schema 26: the same
// tables, columns, collations, indexes, helper functions and timestamp
// trigger, so that Kinto can serve a database changegate created.
const storageDDL = `
CREATE OR REPLACE FUNCTION as_epoch(ts TIMESTAMP) RETURNS BIGINT AS $$
BEGIN
    RETURN (EXTRACT(EPOCH FROM ts) * 1000)::BIGINT;
END;
$$ LANGUAGE plpgsql IMMUTABLE;

CREATE OR REPLACE FUNCTION from_epoch(epoch BIGINT) RETURNS TIMESTAMP AS $$
BEGIN
    RETURN TIMESTAMP WITH TIME ZONE 'epoch' + epoch * INTERVAL '1 millisecond';
END;
$$ LANGUAGE plpgsql IMMUTABLE;

CREATE TABLE IF NOT EXISTS objects (
    id TEXT COLLATE "C" NOT NULL,
    parent_id TEXT COLLATE "C" NOT NULL,
    resource_name TEXT COLLATE "C" NOT NULL,
    last_modified TIMESTAMP NOT NULL,
    data JSONB NOT NULL DEFAULT '{}'::JSONB,
    deleted BOOLEAN NOT NULL,
    PRIMARY KEY (id, parent_id, resource_name)
);
CREATE UNIQUE INDEX IF NOT EXISTS idx_objects_parent_id_resource_name_last_modified
    ON objects(parent_id, resource_name, last_modified DESC);
CREATE INDEX IF NOT EXISTS idx_objects_last_modified_epoch
    ON objects(as_epoch(last_modified));
CREATE INDEX IF NOT EXISTS idx_objects_resource_name_parent_id_deleted
    ON objects(resource_name, parent_id, deleted);
CREATE INDEX IF NOT EXISTS idx_objects_parent_id_record_last_modified
    ON objects (parent_id, last_modified DESC)
    WHERE resource_name = 'record';
CREATE INDEX IF NOT EXISTS idx_objects_history_userid_and_resourcename
    ON objects ((data->'user_id'), (data->'resource_name'))
    WHERE resource_name = 'history';

CREATE TABLE IF NOT EXISTS timestamps (
    parent_id TEXT NOT NULL COLLATE "C",
    resource_name TEXT NOT NULL COLLATE "C",
    last_modified TIMESTAMP NOT NULL,
    PRIMARY KEY (parent_id, resource_name)
);

DROP TRIGGER IF EXISTS tgr_objects_last_modified ON objects;

-- Kinto's rule: a write without last_modified, or with the newest
-- timestamp of its list, gets the current time or previous+1.
CREATE OR REPLACE FUNCTION bump_timestamp()
RETURNS trigger AS $$
DECLARE
    previous BIGINT;
    current BIGINT;
BEGIN
    previous := NULL;
    WITH existing_timestamps AS (
      (
        SELECT last_modified
        FROM objects
        WHERE parent_id = NEW.parent_id
          AND resource_name = NEW.resource_name
        ORDER BY last_modified DESC
        LIMIT 1
      )
      UNION
      (
        SELECT last_modified
        FROM timestamps
        WHERE parent_id = NEW.parent_id
          AND resource_name = NEW.resource_name
      )
    )
    SELECT as_epoch(MAX(last_modified)) INTO previous
      FROM existing_timestamps;

    current := as_epoch(clock_timestamp()::TIMESTAMP);
    IF previous IS NOT NULL AND previous >= current THEN
        current := previous + 1;
    END IF;

    IF NEW.last_modified IS NULL OR
       (previous IS NOT NULL AND as_epoch(NEW.last_modified) = previous) THEN
        NEW.last_modified := from_epoch(current);
    END IF;

    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER tgr_objects_last_modified
BEFORE INSERT OR UPDATE OF data ON objects
FOR EACH ROW EXECUTE PROCEDURE bump_timestamp();

CREATE TABLE IF NOT EXISTS metadata (
    name VARCHAR(128) NOT NULL,
    value VARCHAR(512) NOT NULL
);
INSERT INTO metadata (name, value) VALUES ('created_at', NOW()::TEXT);
INSERT INTO metadata (name, value) VALUES ('storage_schema_version', '26');
`

// permissionDDL creates the layout of Kinto's permission schema 2.
const permissionDDL = `
CREATE TABLE IF NOT EXISTS user_principals (
    user_id TEXT COLLATE "C",
    principal TEXT,
    PRIMARY KEY (user_id, principal)
);

CREATE TABLE IF NOT EXISTS access_control_entries (
    object_id TEXT COLLATE "C",
    permission TEXT,
    principal TEXT,
    PRIMARY KEY (object_id, permission, principal)
);
CREATE INDEX IF NOT EXISTS idx_access_control_entries_object_id
    ON access_control_entries(object_id);
CREATE INDEX IF NOT EXISTS idx_access_control_entries_permission
    ON access_control_entries(permission);
CREATE INDEX IF NOT EXISTS idx_access_control_entries_principal
    ON access_control_entries(principal);

CREATE TABLE IF NOT EXISTS metadata (
    name VARCHAR(128) NOT NULL,
    value VARCHAR(512) NOT NULL
);
INSERT INTO metadata VALUES ('permission_schema_version', '2');
`

// additiveDDL is what changegate adds to Kinto's layout. Kinto names its
// columns in every statement, so extra nullable columns are invisible to
// it, and the triggers only clear our columns or notify.
//
//   - changegate_raw keeps the client's exact JSON bytes (JSONB reorders
//     keys and drops whitespace), changegate_perms the principals in the
//     order they were given; changegate_rev is a random number every
//     changegate write sets anew. When anyone else updates a row (Kinto,
//     SQL) the rev stays the same, and changegate_invalidate clears the
//     copies so that readers rebuild the object from data and
//     access_control_entries.
//   - changegate_gen numbers the versions of each row (docstore.Object's
//     Generation): changegate's writes set it, and changegate_generation
//     numbers everyone else's, so a write by Kinto or by SQL is a new
//     version too: an insert is 1, an update of data (every Kinto write
//     sets data, a deletion too) the previous + 1. A row from before the
//     column counts as 1. The trigger's name sorts before
//     changegate_objects_invalidate, which PostgreSQL fires after it: it
//     still sees changegate_rev as the writer left it.
//   - changegate_notify sends (schema, parent_id, resource_name, id,
//     last_modified, deleted, application_name) as JSON on channel
//     changegate for every object written and every list timestamp
//     created, by anyone, so every instance can wake its feeds. Rows
//     removed outright (tree deletions, Kinto's purges) are no change a
//     feed reports. NOTIFY is delivered at commit, in commit order.
const additiveDDL = `
ALTER TABLE objects ADD COLUMN IF NOT EXISTS changegate_raw BYTEA;
ALTER TABLE objects ADD COLUMN IF NOT EXISTS changegate_perms JSONB;
ALTER TABLE objects ADD COLUMN IF NOT EXISTS changegate_rev BIGINT;
ALTER TABLE objects ADD COLUMN IF NOT EXISTS changegate_gen BIGINT;

CREATE OR REPLACE FUNCTION changegate_generation() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.changegate_gen := COALESCE(NEW.changegate_gen, 1);
    ELSIF NEW.changegate_rev IS NOT DISTINCT FROM OLD.changegate_rev THEN
        NEW.changegate_gen := COALESCE(OLD.changegate_gen, 1) + 1;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE TRIGGER changegate_objects_gen
BEFORE INSERT OR UPDATE OF data ON objects
FOR EACH ROW EXECUTE FUNCTION changegate_generation();

CREATE OR REPLACE FUNCTION changegate_invalidate() RETURNS trigger AS $$
BEGIN
    IF NEW.changegate_rev IS NOT DISTINCT FROM OLD.changegate_rev THEN
        NEW.changegate_raw := NULL;
        NEW.changegate_perms := NULL;
        NEW.changegate_rev := NULL;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE TRIGGER changegate_objects_invalidate
BEFORE UPDATE ON objects
FOR EACH ROW EXECUTE FUNCTION changegate_invalidate();

CREATE OR REPLACE FUNCTION changegate_notify() RETURNS trigger AS $$
DECLARE
    r RECORD;
    payload TEXT;
    id TEXT := '';
    deleted BOOLEAN := FALSE;
BEGIN
    r := NEW;
    IF TG_TABLE_NAME = 'objects' THEN
        id := r.id;
        deleted := r.deleted;
    END IF;
    payload := json_build_object(
        's', TG_TABLE_SCHEMA, 'p', r.parent_id, 'r', r.resource_name, 'i', id,
        't', (EXTRACT(EPOCH FROM r.last_modified) * 1000)::BIGINT,
        'd', deleted, 'a', current_setting('application_name'))::TEXT;
    IF octet_length(payload) > 7900 THEN
        -- NOTIFY payloads end at 8000 bytes: tell listeners to catch up.
        payload := json_build_object('s', TG_TABLE_SCHEMA, 'overflow', true)::TEXT;
    END IF;
    PERFORM pg_notify('changegate', payload);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE TRIGGER changegate_objects_notify
AFTER INSERT OR UPDATE ON objects
FOR EACH ROW EXECUTE FUNCTION changegate_notify();

CREATE OR REPLACE TRIGGER changegate_timestamps_notify
AFTER INSERT ON timestamps
FOR EACH ROW EXECUTE FUNCTION changegate_notify();
`

// ensureSchema creates Kinto's schema on an empty database, checks the
// versions of an existing one, and adds changegate's columns and triggers.
func ensureSchema(ctx context.Context, conn *pgx.Conn) error {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", int64(schemaLock)); err != nil {
		return err
	}
	steps := []struct {
		table, key, ddl, what string
		want                  int
	}{
		{"objects", "storage_schema_version", storageDDL, "storage", StorageSchemaVersion},
		{"access_control_entries", "permission_schema_version", permissionDDL, "permission", PermissionSchemaVersion},
	}
	for _, s := range steps {
		if err := ensureOne(ctx, tx, s.table, s.key, s.ddl, s.what, s.want); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(ctx, additiveDDL); err != nil {
		return fmt.Errorf("adding changegate's columns and triggers: %w", err)
	}
	if _, err := tx.Exec(ctx, orderDDL); err != nil {
		return fmt.Errorf("adding changegate's ordering trigger: %w", err)
	}
	return tx.Commit(ctx)
}

// ensureOne creates one of Kinto's schemas when its table is missing, or
// checks the version recorded in metadata.
func ensureOne(ctx context.Context, tx pgx.Tx, table, key, ddl, what string, want int) error {
	var exists bool
	if err := tx.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", table).Scan(&exists); err != nil {
		return fmt.Errorf("looking for table %s: %w", table, err)
	}
	if !exists {
		if what == "storage" {
			if err := refuseLegacy(ctx, tx); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, ddl); err != nil {
			return fmt.Errorf("creating Kinto %s schema %d: %w", what, want, err)
		}
		return nil
	}
	var found *string
	err := tx.QueryRow(ctx, `SELECT max(value) FROM metadata WHERE name = $1
		AND length(value) = (SELECT max(length(value)) FROM metadata WHERE name = $1)`, key).Scan(&found)
	if err != nil {
		return fmt.Errorf("reading Kinto %s schema version: %w", what, err)
	}
	if found == nil {
		return fmt.Errorf("table %s exists but metadata has no %s: unknown Kinto %s schema (changegate supports version %d)", table, key, what, want)
	}
	if v, err := strconv.Atoi(*found); err != nil || v != want {
		return fmt.Errorf("Kinto %s schema version %s found; changegate supports version %d only (migrate with Kinto's `kinto migrate`, or use a matching changegate)", what, *found, want)
	}
	return nil
}

// refuseLegacy fails on a database of Kinto before schema 21, whose
// objects lived in a table named records.
func refuseLegacy(ctx context.Context, tx pgx.Tx) error {
	var legacy bool
	if err := tx.QueryRow(ctx, "SELECT to_regclass('records') IS NOT NULL").Scan(&legacy); err != nil {
		return err
	}
	if legacy {
		return fmt.Errorf("found an old Kinto storage schema (table records); changegate supports version %d only: run `kinto migrate` first", StorageSchemaVersion)
	}
	return nil
}
