package postgres

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/changegate/changegate/docstore"
)

// tombstoneData is what Kinto stores as the data of a tombstone.
const tombstoneData = `{"deleted": true}`

// Put upserts the object row and replaces its access control entries, in
// one round trip. Kinto's trigger keeps the given last_modified unless it
// equals the list's newest; in that rare case a second statement sets it
// back (an update of last_modified alone does not fire the trigger).
func (t *tx) Put(parent, kind string, obj *docstore.Object) error {
	err := t.writableCheck()
	if err == nil {
		err = docstore.CheckList(parent, kind)
	}
	if err == nil {
		err = t.put(parent, kind, obj)
	}
	if err != nil {
		id := ""
		if obj != nil {
			id = obj.ID
		}
		return fmt.Errorf("storing %s %q of %q: %w", kind, id, parent, err)
	}
	return nil
}

func (t *tx) put(parent, kind string, obj *docstore.Object) error {
	switch {
	case obj == nil:
		return errors.New("nil object")
	case obj.ID == "":
		return errors.New("object has no id")
	case obj.LastModified >= maxMillis || obj.LastModified <= -maxMillis:
		return errors.New("last_modified out of PostgreSQL's range")
	}
	var perms []byte
	if !obj.Deleted && obj.Permissions != nil {
		var err error
		if perms, err = json.Marshal(obj.Permissions); err != nil {
			return err
		}
	}
	var raw any
	if !obj.Deleted && obj.Data != nil {
		raw = []byte(obj.Data)
	}
	uri := objectURI(parent, kind, obj.ID)
	b := &pgx.Batch{}
	var kept bool
	var gen any
	if obj.Generation > 0 {
		gen = obj.Generation
	}
	b.Queue(fmt.Sprintf(`INSERT INTO objects AS o (id, parent_id, resource_name, data, last_modified, deleted,
			changegate_raw, changegate_perms, changegate_rev, changegate_gen)
		VALUES ($1, $2, $3, $4::JSONB - 'id' - 'last_modified', %[1]s, $6, $7, $8, $9, COALESCE($10::BIGINT, 1))
		ON CONFLICT (id, parent_id, resource_name) DO UPDATE SET
			data = EXCLUDED.data, last_modified = %[1]s, deleted = EXCLUDED.deleted,
			changegate_raw = EXCLUDED.changegate_raw, changegate_perms = EXCLUDED.changegate_perms,
			changegate_rev = EXCLUDED.changegate_rev,
			changegate_gen = COALESCE($10::BIGINT, COALESCE(o.changegate_gen, 1) + 1)
		RETURNING o.last_modified = %[1]s`, fmt.Sprintf(tsOf, "$5")),
		obj.ID, parent, kind, kintoData(obj), obj.LastModified, obj.Deleted, raw, jsonParam(perms), randomRev(), gen,
	).QueryRow(func(row pgx.Row) error { return row.Scan(&kept) })
	b.Queue(`DELETE FROM access_control_entries WHERE object_id = $1`, uri)
	if len(perms) > 0 {
		b.Queue(`INSERT INTO access_control_entries (object_id, permission, principal)
			SELECT $1, p.key, jsonb_array_elements_text(p.value) FROM jsonb_each($2::JSONB) p
			ON CONFLICT DO NOTHING`, uri, string(perms))
	}
	if kind == docstore.KindGroup {
		queueMembers(b, uri, obj)
	}
	// Timestamps set so far go in the same round trip, after the object:
	// the trigger has run by then. That is one round trip less while the
	// list's ordering lock is held.
	t.queueTimestamps(b)
	if err := t.batch(b); err != nil {
		return err
	}
	if kept {
		return nil
	}
	return t.exec(fmt.Sprintf(`UPDATE objects SET last_modified = %s, changegate_rev = changegate_rev + 1
		WHERE id = $2 AND parent_id = $3 AND resource_name = $4`, fmt.Sprintf(tsOf, "$1")),
		obj.LastModified, obj.ID, parent, kind)
}

// kintoData is the data column Kinto expects: the object without id and
// last_modified (removed in SQL), {"deleted": true} for a tombstone, and
// {} when the bytes are no JSON object or hold what JSONB refuses (a NUL
// character); our own copy keeps the bytes either way.
func kintoData(obj *docstore.Object) string {
	if obj.Deleted {
		return tombstoneData
	}
	d := bytes.TrimLeft(obj.Data, " \t\r\n")
	if len(d) == 0 || d[0] != '{' || bytes.Contains(d, []byte(`\u0000`)) || !json.Valid(d) {
		return "{}"
	}
	return string(d)
}

// jsonParam is a JSONB parameter, NULL when empty.
func jsonParam(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

// Get returns the live object.
func (t *tx) Get(parent, kind, id string) (*docstore.Object, error) {
	return t.get(parent, kind, id, " AND NOT deleted")
}

// GetVersion returns the object or tombstone.
func (t *tx) GetVersion(parent, kind, id string) (*docstore.Object, error) {
	return t.get(parent, kind, id, "")
}

func (t *tx) get(parent, kind, id, live string) (*docstore.Object, error) {
	err := t.readable()
	if err == nil {
		err = docstore.CheckList(parent, kind)
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s %q of %q: %w", kind, id, parent, err)
	}
	cols := columns(docstore.ScanOptions{})
	query := fmt.Sprintf(`SELECT %s FROM objects o WHERE id = $1 AND parent_id = $2 AND resource_name = $3%s`, cols, live)
	var r row
	found := false
	err = t.queryRow(func(row pgx.Row) error {
		err := row.Scan(r.dest(docstore.ScanOptions{})...)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		found = err == nil
		return err
	}, query, id, parent, kind)
	if err == nil && !found {
		return nil, docstore.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s %q of %q: %w", kind, id, parent, unavailable(err))
	}
	return r.object()
}

// columns lists what a read selects: id, last_modified and deleted, then
// unless opts.Bare the data (our copy, or rebuilt from Kinto's data with
// id and last_modified when someone else wrote the row), then unless
// opts.NoPermissions our ordered copy of the permissions and the access
// control entries, which are authoritative.
func columns(opts docstore.ScanOptions) string {
	ms := fmt.Sprintf(msOf, "o.last_modified")
	cols := "o.id, " + ms + ", o.deleted, COALESCE(o.changegate_gen, 1)"
	if opts.Bare {
		return cols
	}
	cols += `, o.changegate_rev IS NOT NULL, o.changegate_raw,
		CASE WHEN o.changegate_rev IS NULL AND NOT o.deleted
			THEN (jsonb_build_object('id', o.id, 'last_modified', ` + ms + `) || o.data)::TEXT END`
	if opts.NoPermissions || opts.Bare {
		return cols
	}
	return cols + `, o.changegate_perms,
		(SELECT array_agg(a.permission || ' ' || a.principal)
			FROM access_control_entries a
			WHERE a.object_id = ` + objectURISQL + `)`
}

// row receives the columns of one object.
type row struct {
	id       string
	lm       int64
	deleted  bool
	gen      int64
	ours     bool
	raw      []byte
	rebuilt  *string
	ordered  []byte
	aces     []string
	withData bool
	withPerm bool
}

// dest returns the scan destinations of columns(opts).
func (r *row) dest(opts docstore.ScanOptions) []any {
	d := []any{&r.id, &r.lm, &r.deleted, &r.gen}
	if opts.Bare {
		return d
	}
	r.withData = true
	d = append(d, &r.ours, &r.raw, &r.rebuilt)
	if opts.NoPermissions {
		return d
	}
	r.withPerm = true
	return append(d, &r.ordered, &r.aces)
}

// object builds the docstore object of the row.
func (r *row) object() (*docstore.Object, error) {
	obj := &docstore.Object{ID: r.id, LastModified: r.lm, Deleted: r.deleted, Generation: r.gen}
	if r.deleted || !r.withData {
		return obj, nil
	}
	switch {
	case r.ours && r.raw != nil:
		obj.Data = r.raw
	case !r.ours && r.rebuilt != nil:
		obj.Data = json.RawMessage(*r.rebuilt)
	}
	if !r.withPerm {
		return obj, nil
	}
	perms, err := permissions(r.aces, r.ordered, r.ours)
	if err != nil {
		return nil, fmt.Errorf("decoding permissions of %q: %w", r.id, err)
	}
	obj.Permissions = perms
	return obj, nil
}

// permissions builds an object's permissions from its access control
// entries ("<permission> <principal>": Kinto's permission names have no
// space), ordering each principal list as our copy does when we wrote the
// row last (entries have no order), and keeping the names our copy lists
// with no principal.
func permissions(aces []string, ordered []byte, ours bool) (docstore.Permissions, error) {
	pairs := make([][2]string, 0, len(aces))
	for _, ace := range aces {
		perm, principal, ok := strings.Cut(ace, " ")
		if !ok {
			return nil, fmt.Errorf("access control entry %q", ace)
		}
		pairs = append(pairs, [2]string{perm, principal})
	}
	var order docstore.Permissions
	if ours && ordered != nil {
		var err error
		if order, err = principalOrder(ordered); err != nil {
			return nil, err
		}
	}
	if len(pairs) == 0 && len(order) == 0 {
		return nil, nil
	}
	perms := docstore.Permissions{}
	for _, p := range pairs {
		perms[p[0]] = append(perms[p[0]], p[1])
	}
	for name, principals := range perms {
		rank := map[string]int{}
		for i, p := range order[name] {
			if _, dup := rank[p]; !dup {
				rank[p] = i
			}
		}
		slices.SortFunc(principals, func(a, b string) int {
			ra, oka := rank[a]
			rb, okb := rank[b]
			switch {
			case oka && okb:
				return ra - rb
			case oka:
				return -1
			case okb:
				return 1
			}
			return cmp.Compare(a, b)
		})
	}
	for _, name := range slices.Sorted(maps.Keys(order)) {
		if _, ok := perms[name]; !ok && len(order[name]) == 0 {
			perms[name] = order[name]
		}
	}
	return perms, nil
}

// queueMembers keeps Kinto's user_principals table in step with a group:
// Kinto's permission backend resolves a user's groups from its rows
// (user_id = member, principal = the group's URI), not from the group's
// data, so a group written by changegate must be written there too.
func queueMembers(b *pgx.Batch, uri string, obj *docstore.Object) {
	b.Queue(`DELETE FROM user_principals WHERE principal = $1`, uri)
	if obj.Deleted {
		return
	}
	var group struct {
		Members []string `json:"members"`
	}
	if json.Unmarshal(obj.Data, &group) != nil || len(group.Members) == 0 {
		return
	}
	b.Queue(`INSERT INTO user_principals (user_id, principal) SELECT unnest($1::TEXT[]), $2
		ON CONFLICT DO NOTHING`, group.Members, uri)
}
