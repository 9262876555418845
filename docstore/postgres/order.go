package postgres

import "fmt"

// listLockKey is the advisory lock key of the list (%s, %s) = (parent_id,
// resource_name): the one ordering lock of a list, taken by this engine
// before it chooses a timestamp (tx.readTimestamp) and by trigger
// changegate_objects_order for every other writer.
const listLockKey = "hashtextextended(%s || '/' || %s, 0)"

// lockListSQL takes the ordering lock of list ($1, $2) until the
// transaction ends.
var lockListSQL = fmt.Sprintf("SELECT pg_advisory_xact_lock(%s)", fmt.Sprintf(listLockKey, "$1", "$2"))

// orderDDL makes every writer of objects take the list's ordering lock,
// not only this engine: Kinto's bump_timestamp trigger (and any SQL
// writer) picks a timestamp before its commit, so two writers of one list
// could commit out of timestamp order and a reader following _since would
// skip the one committed second with the smaller timestamp.
//
// PostgreSQL fires the BEFORE triggers of one event in the order of their
// names, so changegate_objects_order runs before Kinto's
// tgr_objects_last_modified: the lock is held before Kinto chooses the
// timestamp, until the commit. Kinto writes in READ COMMITTED, where each
// statement of bump_timestamp (a volatile function) takes a new snapshot,
// so it then sees the newest committed timestamp of the list and picks a
// later one: commits of a list happen in timestamp order, whoever writes.
//
// A transaction that already holds the lock (this engine's writes) takes
// it again at the cost of a lookup in its own lock table. Rows removed
// outright are not ordered: no _since read reports them.
var orderDDL = fmt.Sprintf(`
CREATE OR REPLACE FUNCTION changegate_order() RETURNS trigger AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(%s);
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE TRIGGER changegate_objects_order
BEFORE INSERT OR UPDATE ON objects
FOR EACH ROW EXECUTE FUNCTION changegate_order();
`, fmt.Sprintf(listLockKey, "NEW.parent_id", "NEW.resource_name"))
