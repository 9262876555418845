package postgres

import (
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/changegate/changegate/docstore"
)

var _ docstore.VersionsReader = (*tx)(nil)

// GetVersions reads the objects and tombstones of ids in one statement
// (a replicator's batch of documents), without their permissions.
func (t *tx) GetVersions(parent, kind string, ids []string) ([]*docstore.Object, error) {
	err := t.readable()
	if err == nil {
		err = docstore.CheckList(parent, kind)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %d %s of %q: %w", len(ids), kind, parent, err)
	}
	opts := docstore.ScanOptions{NoPermissions: true}
	query := fmt.Sprintf(`SELECT %s FROM objects o WHERE o.id = ANY($1) AND o.parent_id = $2 AND o.resource_name = $3`, columns(opts))
	var out []*docstore.Object
	err = t.query(func(rows pgx.Rows) error {
		for rows.Next() {
			var r row
			if err := rows.Scan(r.dest(opts)...); err != nil {
				return err
			}
			obj, err := r.object()
			if err != nil {
				return err
			}
			out = append(out, obj)
		}
		return rows.Err()
	}, query, ids, parent, kind)
	if err != nil {
		return nil, fmt.Errorf("reading %d %s of %q: %w", len(ids), kind, parent, unavailable(err))
	}
	return out, nil
}
