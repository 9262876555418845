package postgres

import (
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/changegate/changegate/docstore"
)

// errNeedSnapshot ends a View run whose first statement was sent outside
// a transaction (GetMany with last) when another statement followed: the
// two would not share a snapshot, so the View runs its callback again in a
// REPEATABLE READ transaction.
var errNeedSnapshot = errors.New("a second read needs the first one's snapshot")

var _ docstore.Prefetcher = (*tx)(nil)

// GetMany reads the objects of keys in one statement. With last, in a
// View that has sent nothing yet, the statement goes alone, without BEGIN
// and COMMIT: one statement is its own snapshot, and a record GET costs
// one round trip instead of three or four.
func (t *tx) GetMany(keys []docstore.ObjectKey, last bool) ([]*docstore.Object, error) {
	err := t.readable()
	for _, k := range keys {
		if err == nil {
			err = docstore.CheckList(k.Parent, k.Kind)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("reading %d objects: %w", len(keys), err)
	}
	out := make([]*docstore.Object, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	at := make(map[docstore.ObjectKey]int, len(keys))
	args := make([]any, 0, 3*len(keys))
	for i, k := range keys {
		at[k] = i
		args = append(args, k.ID, k.Parent, k.Kind)
	}
	query := getManyQuery(len(keys))
	var rows []*row
	var parents, kinds []string
	read := func(rs pgx.Rows) error {
		for rs.Next() {
			r := &row{}
			var parent, kind string
			if err := rs.Scan(append([]any{&parent, &kind}, r.dest(docstore.ScanOptions{})...)...); err != nil {
				return err
			}
			rows, parents, kinds = append(rows, r), append(parents, parent), append(kinds, kind)
		}
		return rs.Err()
	}
	if len(t.wantStamps) == 0 {
		t.alone = last
		err = t.query(read, query, args...)
	} else {
		// Several statements: they need the transaction's snapshot.
		if err := t.wantedElsewhere(); err != nil {
			return nil, fmt.Errorf("reading %d objects: %w", len(keys), err)
		}
		b := &pgx.Batch{}
		locked := t.queueWantedStamps(b, func(b *pgx.Batch) { b.Queue(query, args...).Query(read) })
		err = locked(t.batch(b))
	}
	if err != nil {
		return nil, fmt.Errorf("reading %d objects: %w", len(keys), unavailable(err))
	}
	for i, r := range rows {
		obj, err := r.object()
		if err != nil {
			return nil, err
		}
		if j, ok := at[docstore.ObjectKey{Parent: parents[i], Kind: kinds[i], ID: r.id}]; ok {
			out[j] = obj
		}
	}
	return out, nil
}
