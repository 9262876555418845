package query

import (
	"strings"

	"github.com/changegate/changegate/kinto"
)

// extractFilters is Kinto's _extract_filters over the validated values,
// in params order. Parameters starting with "_" are ignored, except
// _since, _before and its deprecated alias _to.
func (q *Query) extractFilters(params []param, values map[string]any, opts *Options) error {
	for _, p := range params {
		name := kinto.PyStrip(p.key)
		value := values[p.key]
		switch {
		case name == "_since" || name == "_before" || name == "_to":
			f, err := timestampFilter(name, value, opts)
			if err != nil {
				return err
			}
			q.DeprecatedTo = q.DeprecatedTo || name == "_to"
			q.Filters = append(q.Filters, f)
		case strings.HasPrefix(name, "_"):
			continue
		default:
			f, err := fieldFilter(name, value, opts)
			if err != nil {
				return err
			}
			q.Filters = append(q.Filters, f)
		}
	}
	return nil
}

// timestampFilter builds the filter of _since (gt_last_modified) or
// _before/_to (lt_last_modified). A null value is allowed: Kinto then
// compares against null, so _since=null keeps every object (and turns
// tombstones on) while _before=null keeps none.
func timestampFilter(name string, value any, opts *Options) (Filter, error) {
	op := OpLt
	if name == "_since" {
		op = OpGt
	}
	if value == nil {
		return newFilter(modifiedField, op, nil), nil
	}
	ts, ok := timestamp(value, opts.now())
	if !ok {
		return Filter{}, invalidValue(name)
	}
	return newFilter(modifiedField, op, ts), nil
}

// fieldFilter validates one field filter, with Kinto's checks in Kinto's
// order.
func fieldFilter(param string, value any, opts *Options) (Filter, error) {
	op, field := splitParam(param)
	if !opts.known(field) {
		return Filter{}, invalid(param, "Unknown filter field '"+param+"'")
	}
	if op == OpLike {
		if _, ok := value.(string); !ok {
			return Filter{}, invalidValue(param)
		}
	}
	if (op == OpIn || op == OpExclude) && !listTypesOK(field, value) {
		return Filter{}, invalidValue(param)
	}
	if strings.Contains(field, "\x00") || hasNUL(value) {
		return Filter{}, invalid(param, "Invalid character 0x00")
	}
	if field == modifiedField {
		ts, ok := timestamp(value, opts.now())
		if !ok {
			return Filter{}, invalidValue(param)
		}
		if isComparison(op) {
			value = ts
		}
	}
	if (field == modifiedField || field == idField) && (op == OpContains || op == OpContainsAny) {
		return Filter{}, invalid(param, "Field '"+field+"' is not an array")
	}
	f := newFilter(field, op, value)
	if op == OpLike {
		re, err := likePattern(value.(string))
		if err != nil {
			return Filter{}, invalidValue(param)
		}
		f.pattern = re
	}
	return f, nil
}

// isComparison reports whether op compares values by order or equality.
func isComparison(op Operator) bool {
	switch op {
	case OpEq, OpNot, OpLt, OpGt, OpMin, OpMax:
		return true
	}
	return false
}

// listTypesOK is Kinto's check of in_/exclude_ values: strings for id,
// integers for last_modified (any value for other fields).
func listTypesOK(field string, value any) bool {
	if field != idField && field != modifiedField {
		return true
	}
	items, ok := pyIter(value)
	if !ok {
		return false // Python raises TypeError iterating a scalar
	}
	for _, v := range items {
		_, isString := v.(string)
		_, isInt := pyIntValue(v)
		if field == idField && !isString || field == modifiedField && !isInt {
			return false
		}
	}
	return true
}

// hasNUL reports whether a string in v (keys included) contains "\x00".
func hasNUL(v any) bool {
	switch x := v.(type) {
	case string:
		return strings.Contains(x, "\x00")
	case []any:
		for _, e := range x {
			if hasNUL(e) {
				return true
			}
		}
	case map[string]any:
		for k, e := range x {
			if strings.Contains(k, "\x00") || hasNUL(e) {
				return true
			}
		}
	}
	return false
}
