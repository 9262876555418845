package feeds

import (
	"container/heap"
	"context"
	"slices"
	"strconv"
	"strings"
)

// maxAllDocsRows bounds what one _all_docs answer holds (docs/security.md):
// limit and skip each at most this, and an answer without limit whose
// range holds more rows than this is refused. The rows are selected in
// one pass over the source's changes, read in pages of feedBatch, keeping
// only skip+limit of them: memory follows the answer, not the collection.
const maxAllDocsRows = 10000

// reasonAllDocsRows is the 400 for a range too large for one answer.
var reasonAllDocsRows = "_all_docs answers at most " + strconv.Itoa(maxAllDocsRows) + " rows: page with `limit` and `startkey`"

// checkWindow refuses, without keys, a limit or skip past the cap.
func (ar *allDocsRequest) checkWindow() error {
	for _, p := range []struct {
		name string
		n    int
	}{{"limit", ar.limit}, {"skip", ar.skip}} {
		if !ar.hasKeys && p.n > maxAllDocsRows {
			return badRequest("Invalid value for `" + p.name + "`: at most " + strconv.Itoa(maxAllDocsRows))
		}
	}
	return nil
}

// allDocsScan is what one pass over the source gathers for an answer.
type allDocsScan struct {
	ar *allDocsRequest
	// live counts the live documents (total_rows); before those ahead
	// of the range's start, inRange those in the range.
	live, before, inRange int
	// kept are the first skip+limit rows of the range (a heap whose
	// root is the last of them in the answer's order).
	kept rowHeap
	keep int
	// byID are the rows of the keys asked for.
	byID map[string]feedRow
	want map[string]bool
}

// scanAllDocs reads every change of the source, in pages, into an
// allDocsScan; ok is false when the source does not exist.
func scanAllDocs(ctx context.Context, src feedSource, ar *allDocsRequest) (*allDocsScan, bool, error) {
	s := &allDocsScan{ar: ar, kept: rowHeap{before: ar.before}}
	if ar.hasKeys {
		s.byID = make(map[string]feedRow, len(ar.keys))
		s.want = make(map[string]bool, len(ar.keys))
		for _, k := range ar.keys {
			s.want[k] = true
		}
	} else {
		s.keep = ar.skip + min(ar.limit, maxAllDocsRows)
		if ar.limit < 0 {
			s.keep = ar.skip + maxAllDocsRows
		}
	}
	cur := feedCursor{}
	for {
		page, err := src.read(ctx, cur, feedBatch, false, true)
		if err != nil || !page.exists {
			return nil, false, err
		}
		for _, row := range page.rows {
			s.visit(row)
		}
		if len(page.rows) == 0 || (page.pending == 0 && len(page.rows) < feedBatch) {
			return s, true, nil
		}
		cur = page.rows[len(page.rows)-1].cur
	}
}

// visit counts a row and keeps it when the answer may need it.
func (s *allDocsScan) visit(row feedRow) {
	if !row.deleted {
		s.live++
	}
	if s.want != nil {
		if s.want[row.id] {
			s.byID[row.id] = row
		}
		return
	}
	ar := s.ar
	switch {
	case row.deleted:
		return
	case ar.hasStart && ar.before(row.id, ar.start):
		s.before++
		return
	case ar.hasEnd && !ar.before(row.id, ar.end) && !(ar.inclusiveEnd && row.id == ar.end):
		return
	}
	s.inRange++
	if !ar.includeDocs {
		row.data = nil
	}
	if s.kept.Len() < s.keep {
		heap.Push(&s.kept, row)
	} else if s.keep > 0 && ar.before(row.id, s.kept.rows[0].id) {
		s.kept.rows[0] = row
		heap.Fix(&s.kept, 0)
	}
}

// window is the rows to send, in order, and the offset of the first.
func (s *allDocsScan) window() ([]feedRow, int, error) {
	ar := s.ar
	if ar.limit < 0 && s.inRange > ar.skip+maxAllDocsRows {
		return nil, 0, badRequest(reasonAllDocsRows)
	}
	rows := s.kept.rows
	slices.SortFunc(rows, func(a, b feedRow) int {
		if ar.descending {
			return strings.Compare(b.id, a.id)
		}
		return strings.Compare(a.id, b.id)
	})
	skip := min(ar.skip, len(rows))
	return rows[skip:], s.before + min(ar.skip, s.inRange), nil
}

// before reports whether id a comes before id b in the answer's order.
func (ar *allDocsRequest) before(a, b string) bool {
	if ar.descending {
		return a > b
	}
	return a < b
}

// rowHeap is a heap of rows whose root is the one coming last.
type rowHeap struct {
	rows   []feedRow
	before func(a, b string) bool
}

func (h rowHeap) Len() int           { return len(h.rows) }
func (h rowHeap) Less(i, j int) bool { return h.before(h.rows[j].id, h.rows[i].id) }
func (h rowHeap) Swap(i, j int)      { h.rows[i], h.rows[j] = h.rows[j], h.rows[i] }
func (h *rowHeap) Push(x any)        { h.rows = append(h.rows, x.(feedRow)) }
func (h *rowHeap) Pop() any {
	n := len(h.rows) - 1
	row := h.rows[n]
	h.rows = h.rows[:n]
	return row
}
