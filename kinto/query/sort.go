package query

import (
	"cmp"
	"slices"
	"strings"

	"github.com/changegate/changegate/kinto"
)

// Sort is one sort criterion.
type Sort struct {
	Field string // dotted path
	Desc  bool   // descending
}

// extractSorting is Kinto's _extract_sorting. Items of _sort are stripped
// and must look like [-+]?[\w.]+ (others are silently skipped). Unless an
// item is exactly "last_modified" (before stripping and without a sign),
// -last_modified is appended, so _sort=-last_modified sorts on it twice,
// harmlessly.
func extractSorting(values map[string]any, opts *Options) ([]Sort, error) {
	specified, _ := values["_sort"].([]any)
	var sorting []Sort
	modifiedUsed := false
	for _, item := range specified {
		raw, _ := item.(string)
		modifiedUsed = modifiedUsed || raw == modifiedField
		field, desc := splitSign(kinto.PyStrip(raw))
		if !isFieldName(field) {
			continue
		}
		if !opts.known(field) {
			return nil, nameless("Unknown sort field '" + field + "'")
		}
		sorting = append(sorting, Sort{Field: field, Desc: desc})
	}
	if !modifiedUsed {
		sorting = append(sorting, Sort{Field: modifiedField, Desc: true})
	}
	return sorting, nil
}

// splitSign removes one leading "-" (descending) or "+" from a _sort item.
func splitSign(item string) (field string, desc bool) {
	if rest, ok := strings.CutPrefix(item, "-"); ok {
		return rest, true
	}
	return strings.TrimPrefix(item, "+"), false
}

// DefaultOrder reports whether the query sorts by last_modified descending
// only, the order in which a store can list objects without sorting.
func (q *Query) DefaultOrder() bool {
	for _, s := range q.Sort {
		if s.Field != modifiedField || !s.Desc {
			return false
		}
	}
	return len(q.Sort) > 0
}

// Compare orders two objects by the query's sort (negative when a comes
// first), comparing values as Kinto's memory backend does.
func (q *Query) Compare(a, b map[string]any) int {
	for _, s := range q.Sort {
		c := compareValues(lookup(a, s.Field), lookup(b, s.Field))
		if s.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// SortObjects sorts objs by the query's sort, stably: objects that compare
// equal keep their order, as in Kinto's successive stable sorts. Each
// object's sort values are looked up once.
func (q *Query) SortObjects(objs []map[string]any) {
	if len(objs) < 2 {
		return
	}
	type keyed struct {
		obj  map[string]any
		keys []any
		pos  int
	}
	n := len(q.Sort)
	keys := make([]any, len(objs)*n)
	items := make([]keyed, len(objs))
	for i, o := range objs {
		k := keys[i*n : (i+1)*n : (i+1)*n]
		for j, s := range q.Sort {
			k[j] = normalize(lookup(o, s.Field))
		}
		items[i] = keyed{o, k, i}
	}
	slices.SortFunc(items, func(a, b keyed) int {
		if c := q.compareKeys(a.keys, b.keys); c != 0 {
			return c
		}
		return cmp.Compare(a.pos, b.pos)
	})
	for i := range items {
		objs[i] = items[i].obj
	}
}

// compareKeys compares two objects' precomputed sort values.
func (q *Query) compareKeys(a, b []any) int {
	for j, s := range q.Sort {
		c := compareValues(a[j], b[j])
		if s.Desc {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}
