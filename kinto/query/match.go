package query

import (
	"slices"
	"strings"
)

// Match reports whether obj passes every filter and, when the query has a
// _token, one of the pagination rules (it comes after the token's last
// object in the sort order).
//
// Kinto's memory backend lets a has_ filter overwrite the result of the
// filters before it instead of and-ing with it (so ?a=1&has_b=true also
// returns objects where a is not 1, and has_ even undoes the filter on
// readable ids). Filters are and-ed here, as PostgreSQL does.
func (q *Query) Match(obj map[string]any) bool {
	if !matchAll(q.Filters, obj) {
		return false
	}
	if len(q.rules) == 0 {
		return true
	}
	for _, rule := range q.rules {
		if matchAll(rule, obj) {
			return true
		}
	}
	return false
}

// matchAll reports whether obj passes all filters.
func matchAll(filters []Filter, obj map[string]any) bool {
	for i := range filters {
		if !filters[i].match(obj) {
			return false
		}
	}
	return true
}

// match reports whether obj passes the filter, with the semantics of
// Kinto's apply_filters.
func (f *Filter) match(obj map[string]any) bool {
	left := lookup(obj, f.Field)
	switch f.Op {
	case OpEq:
		return compareValues(left, f.operand) == 0
	case OpNot:
		return compareValues(left, f.operand) != 0
	case OpLt:
		return compareValues(left, f.operand) < 0
	case OpMax:
		return compareValues(left, f.operand) <= 0
	case OpMin:
		return compareValues(left, f.operand) >= 0
	case OpGt:
		return compareValues(left, f.operand) > 0
	case OpIn:
		return pyContains(f.operand, left)
	case OpExclude:
		return !pyContains(f.operand, left)
	case OpLike:
		// Python's re.search raises TypeError on a non-string (a 500 in
		// Kinto, even for an object without the field): no match here.
		s, ok := left.(string)
		return ok && f.pattern.MatchString(s)
	case OpHas:
		return isMissing(left) != pyTruthy(f.Value)
	case OpContains:
		return f.contains(left, false)
	case OpContainsAny:
		return f.contains(left, true)
	}
	return false
}

// pyContains is Python's `item in container` on decoded values: equality
// (1 == 1.0 == True) for lists, substrings for strings, keys for objects.
// Where Python raises TypeError it reports false.
func pyContains(container, item any) bool {
	switch c := container.(type) {
	case []any:
		for _, e := range c {
			if pyEqual(e, item) {
				return true
			}
		}
	case string:
		s, ok := item.(string)
		return ok && strings.Contains(c, s)
	case map[string]any:
		s, ok := item.(string)
		if ok {
			_, ok = c[s]
		}
		return ok
	}
	return false
}

// contains is Kinto's contains_filtering (all searched items are in the
// value) and contains_any_filtering (at least one is). Items compare by
// their canonical JSON. The value is iterated as Python does: a list's
// elements, a string's characters, an object's keys; other values, and
// absent fields, never match.
func (f *Filter) contains(left any, anyOf bool) bool {
	if f.search == nil || isMissing(left) {
		return false
	}
	items, ok := pyIter(left)
	if !ok {
		return false
	}
	for _, s := range f.search {
		found := slices.ContainsFunc(items, func(it any) bool { return sameJSON(it, s) })
		if found == anyOf {
			return anyOf
		}
	}
	return !anyOf
}

// pyIter returns the items Python iterates over in v: a list's elements,
// a string's characters, an object's keys. Scalars are not iterable.
func pyIter(v any) ([]any, bool) {
	switch x := v.(type) {
	case []any:
		return x, true
	case string:
		out := make([]any, 0, len(x))
		for _, r := range x {
			out = append(out, string(r))
		}
		return out, true
	case map[string]any:
		out := make([]any, 0, len(x))
		for k := range x {
			out = append(out, k)
		}
		return out, true
	}
	return nil, false
}
