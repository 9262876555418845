package postgres

import (
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/changegate/changegate/docstore"
)

// scanPage is how many rows a scan reads per query. Most scans are a page
// of a list or a _since poll, which one query serves.
const scanPage = 256

// Scan walks (parent, kind) by (last_modified, id), a page per query,
// each page starting after the last object visited. When fn writes, the
// rest of the page is dropped and the next query starts again from where
// the walk stands, so fn's writes are seen as they would be in a B-tree
// walk. An ascending walk stops at the newest object stored when it
// started.
func (t *tx) Scan(parent, kind string, opts docstore.ScanOptions, fn func(*docstore.Object) (bool, error)) error {
	err := t.readable()
	if err == nil {
		err = docstore.CheckList(parent, kind)
	}
	if err != nil {
		return fmt.Errorf("scanning %s of %q: %w", kind, parent, err)
	}
	if opts.Since >= maxMillis {
		return nil
	}
	s := &scan{t: t, parent: parent, kind: kind, opts: opts}
	if opts.Ascending {
		if err := s.bound(); err != nil {
			return fmt.Errorf("scanning %s of %q: %w", kind, parent, unavailable(err))
		}
	}
	for {
		size := s.pageSize()
		rows, err := s.page()
		if err != nil {
			return fmt.Errorf("scanning %s of %q: %w", kind, parent, unavailable(err))
		}
		writes := t.writes
		for i := range rows {
			r := &rows[i]
			obj, err := r.object()
			if err != nil {
				return err
			}
			s.after, s.afterID, s.started = r.lm, r.id, true
			more, err := fn(obj)
			if err != nil || !more {
				return err
			}
			if t.writes != writes {
				break
			}
		}
		if t.writes == writes && len(rows) < size {
			return nil
		}
	}
}

// scan is the state of one Scan.
type scan struct {
	t            *tx
	parent, kind string
	opts         docstore.ScanOptions
	// after, afterID are the position of the last object visited.
	started bool
	after   int64
	afterID string
	// upper is the newest last_modified when an ascending walk started.
	upper    *int64
	hasUpper bool
}

// bound reads the newest last_modified of the list.
func (s *scan) bound() error {
	s.hasUpper = true
	return s.t.queryRow(func(row pgx.Row) error { return row.Scan(&s.upper) },
		fmt.Sprintf(`SELECT %s FROM objects WHERE parent_id = $1 AND resource_name = $2`, fmt.Sprintf(msOf, "max(last_modified)")),
		s.parent, s.kind)
}

// pageSize is the LIMIT of the next page: the first one is sized to what
// the caller expects to take (a list page and one more), the others to
// scanPage.
func (s *scan) pageSize() int {
	if !s.started && s.opts.Expect > 0 && s.opts.Expect < scanPage {
		return s.opts.Expect
	}
	return scanPage
}

// page reads the next rows of the walk.
func (s *scan) page() ([]row, error) {
	if s.hasUpper && s.upper == nil {
		return nil, nil
	}
	var where strings.Builder
	args := []any{s.parent, s.kind}
	arg := func(v any) string {
		args = append(args, v)
		return fmt.Sprintf("$%d", len(args))
	}
	where.WriteString("o.parent_id = $1 AND o.resource_name = $2")
	if !s.opts.IncludeDeleted {
		where.WriteString(" AND NOT o.deleted")
	}
	if s.opts.Since > 0 {
		fmt.Fprintf(&where, " AND o.last_modified > %s", fmt.Sprintf(tsOf, arg(s.opts.Since)))
	}
	order, cmp := "DESC", "<"
	if s.opts.Ascending {
		order, cmp = "ASC", ">"
		fmt.Fprintf(&where, " AND o.last_modified <= %s", fmt.Sprintf(tsOf, arg(*s.upper)))
	}
	if s.started {
		fmt.Fprintf(&where, " AND (o.last_modified, o.id) %s (%s, %s)", cmp, fmt.Sprintf(tsOf, arg(s.after)), arg(s.afterID))
	}
	query := fmt.Sprintf(`SELECT %s FROM objects o WHERE %s ORDER BY o.last_modified %s, o.id %s LIMIT %d`,
		columns(s.opts), where.String(), order, order, s.pageSize())
	var out []row
	run := s.t.query
	if s.opts.Last && !s.started {
		run = s.t.queryLast
	}
	err := run(func(rows pgx.Rows) error {
		// Rows are scanned into one row, whose scan destinations are
		// made once, and copied out: its fields are zeroed before each
		// scan so that no row shares memory with the one before.
		var r row
		dest := r.dest(s.opts)
		out = make([]row, 0, s.pageSize())
		for rows.Next() {
			withData, withPerm := r.withData, r.withPerm
			r = row{withData: withData, withPerm: withPerm}
			if err := rows.Scan(dest...); err != nil {
				return err
			}
			out = append(out, r)
		}
		return rows.Err()
	}, query, args...)
	return out, err
}
