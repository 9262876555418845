package postgres

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/changegate/changegate/docstore"
)

// Timestamp returns the timestamp of (parent, kind) as Kinto computes it:
// the newest of the timestamps row and of the list's objects (Kinto's own
// writes do not update the row).
//
// In a write transaction it first takes the list's ordering lock: an
// advisory lock on the list, then the timestamps row FOR UPDATE. The Store
// reads the timestamp before choosing a new one, so two writers of one
// list run one after the other from that point to their commits, and
// commits in a list happen in timestamp order: a reader polling with
// _since cannot see a newer write while an older one is still to commit.
// The advisory lock also orders the first writes of a list that has no
// row yet. Locks are held until the transaction ends.
func (t *tx) Timestamp(parent, kind string) (int64, bool, error) {
	err := t.readable()
	if err == nil {
		err = docstore.CheckList(parent, kind)
	}
	if err != nil {
		return 0, false, fmt.Errorf("reading %s timestamp of %q: %w", kind, parent, err)
	}
	key := listKey{parent, kind}
	if ts, ok := t.stamps[key]; ok {
		return ts, true, nil
	}
	if ts, ok := t.readStamps[key]; ok {
		if ts == nil {
			return 0, false, nil
		}
		return *ts, true, nil
	}
	ts, ok, err := t.readTimestamp(key)
	if err != nil {
		return 0, false, fmt.Errorf("reading %s timestamp of %q: %w", kind, parent, unavailable(err))
	}
	return ts, ok, nil
}

// readTimestamp reads the stored timestamp, locking the list first in a
// write transaction.
func (t *tx) readTimestamp(key listKey) (int64, bool, error) {
	lock := t.writable && !t.locked[key]
	var ts *int64
	if !lock {
		if err := t.queryRow(func(row pgx.Row) error { return row.Scan(&ts) }, timestampQuery(""), key.parent, key.kind); err != nil {
			return 0, false, err
		}
	} else {
		if err := t.lockedElsewhere(key); err != nil {
			return 0, false, err
		}
		b := &pgx.Batch{}
		forUpdate := t.queueLock(b, key)
		b.Queue(timestampQuery(forUpdate), key.parent, key.kind).QueryRow(func(row pgx.Row) error { return row.Scan(&ts) })
		if err := t.lockTaken(key, t.batch(b)); err != nil {
			return 0, false, err
		}
	}
	if ts == nil {
		return 0, false, nil
	}
	return *ts, true, nil
}

// SetTimestamp stores the timestamp of (parent, kind) after the next
// object written, or at commit. Writing the row after the object keeps
// Kinto's bump_timestamp trigger from moving the object: it bumps a write
// whose last_modified equals the list's newest timestamp, which the row
// would already hold.
func (t *tx) SetTimestamp(parent, kind string, ts int64) error {
	err := t.writableCheck()
	if err == nil {
		err = docstore.CheckList(parent, kind)
	}
	if err == nil && (ts >= maxMillis || ts <= -maxMillis) {
		err = errors.New("timestamp out of PostgreSQL's range")
	}
	if err != nil {
		return fmt.Errorf("storing %s timestamp of %q: %w", kind, parent, err)
	}
	if t.stamps == nil {
		t.stamps = map[listKey]int64{}
	}
	t.stamps[listKey{parent, kind}] = ts
	return nil
}

// flushTimestamps writes the timestamps SetTimestamp kept.
func (t *tx) flushTimestamps() error {
	if len(t.stamps) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	t.queueTimestamps(b)
	if err := t.batch(b); err != nil {
		return fmt.Errorf("storing list timestamps: %w", err)
	}
	return nil
}

// queueTimestamps adds the upserts of the kept timestamps to b and
// forgets them: from then on the rows hold them. A batched write keeps
// them until its batch commits (holdStamps): each upsert of a row is a
// new version of it, and every read of the row in the batch, and by
// others while it runs, would walk the versions of the batch's writes.
func (t *tx) queueTimestamps(b *pgx.Batch) {
	if t.holdStamps {
		return
	}
	for k, ts := range t.stamps {
		b.Queue(fmt.Sprintf(`INSERT INTO timestamps (parent_id, resource_name, last_modified)
			VALUES ($1, $2, %s)
			ON CONFLICT (parent_id, resource_name) DO UPDATE SET last_modified = EXCLUDED.last_modified`,
			fmt.Sprintf(tsOf, "$3")), k.parent, k.kind, ts)
	}
	clear(t.stamps)
}

// Timestamps calls fn for every timestamp of kind: the rows, overlaid by
// those this transaction stored. The list is read before fn runs, so fn
// may write timestamps and still sees each parent once.
func (t *tx) Timestamps(kind string, fn func(parent string, ts int64) error) error {
	if err := t.readable(); err != nil {
		return err
	}
	if err := docstore.CheckList("", kind); err != nil {
		return fmt.Errorf("listing %s timestamps: %w", kind, err)
	}
	type stamp struct {
		parent string
		ts     int64
	}
	var list []stamp
	index := map[string]int{}
	err := t.query(func(rows pgx.Rows) error {
		for rows.Next() {
			var s stamp
			if err := rows.Scan(&s.parent, &s.ts); err != nil {
				return err
			}
			index[s.parent] = len(list)
			list = append(list, s)
		}
		return rows.Err()
	}, fmt.Sprintf(`SELECT parent_id, %s FROM timestamps WHERE resource_name = $1`, fmt.Sprintf(msOf, "last_modified")), kind)
	if err != nil {
		return fmt.Errorf("listing %s timestamps: %w", kind, err)
	}
	for k, ts := range t.stamps {
		if k.kind != kind {
			continue
		}
		if i, ok := index[k.parent]; ok {
			list[i].ts = ts
		} else {
			list = append(list, stamp{k.parent, ts})
		}
	}
	for _, s := range list {
		if err := fn(s.parent, s.ts); err != nil {
			return err
		}
	}
	return nil
}

// timestampQuery reads the timestamp of list ($1, $2), the newest of its
// row and of its objects; forUpdate is "" or "FOR UPDATE".
func timestampQuery(forUpdate string) string {
	return fmt.Sprintf(`SELECT greatest(
		(SELECT %s FROM timestamps WHERE parent_id = $1 AND resource_name = $2 %s),
		(SELECT %s FROM objects WHERE parent_id = $1 AND resource_name = $2
			ORDER BY last_modified DESC LIMIT 1))`,
		fmt.Sprintf(msOf, "last_modified"), forUpdate, fmt.Sprintf(msOf, "last_modified"))
}

// PrefetchTimestamp has the next GetMany read the timestamp of (parent,
// kind) in its round trip. In a write transaction it takes the list's
// ordering lock there too (see Timestamp), and the value read serves the
// next Timestamp call unless a write comes first.
func (t *tx) PrefetchTimestamp(parent, kind string) {
	if t.closed || docstore.CheckList(parent, kind) != nil {
		return
	}
	t.wantStamps = append(t.wantStamps, listKey{parent, kind})
}

// queueWantedStamps adds to b the ordering locks a write transaction
// does not hold yet, then the statements of reads, then the timestamp
// reads PrefetchTimestamp asked for. The locks go first: each statement of
// a READ COMMITTED transaction sees what committed before it started, so
// reads behind the lock see the writes of the transaction that held it
// (a create with If-None-Match: * must see the record another just
// committed). The function it returns takes b's outcome and records the
// locks taken.
func (t *tx) queueWantedStamps(b *pgx.Batch, reads func(*pgx.Batch)) func(error) error {
	var locks []listKey
	clauses := make([]string, len(t.wantStamps))
	for i, k := range t.wantStamps {
		if t.writable && !t.locked[k] {
			locks, clauses[i] = append(locks, k), t.queueLock(b, k)
		}
	}
	reads(b)
	for i, k := range t.wantStamps {
		b.Queue(timestampQuery(clauses[i]), k.parent, k.kind).QueryRow(func(row pgx.Row) error {
			var ts *int64
			if err := row.Scan(&ts); err != nil {
				return err
			}
			if t.readStamps == nil {
				t.readStamps = map[listKey]*int64{}
			}
			t.readStamps[k] = ts
			return nil
		})
	}
	t.wantStamps = nil
	return func(err error) error {
		for _, k := range locks {
			if err = t.lockTaken(k, err); err != nil {
				return err
			}
		}
		return err
	}
}
