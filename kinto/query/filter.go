package query

import (
	"math/big"
	"regexp"
	"slices"
	"strings"
	"unicode"
)

// Operator is a filter's comparison, named by its query string prefix.
type Operator string

// The operators, in the order Kinto tries their prefixes.
const (
	OpLt          Operator = "lt"
	OpMin         Operator = "min" // >=
	OpMax         Operator = "max" // <=
	OpNot         Operator = "not"
	OpEq          Operator = "eq" // also the bare field=value form
	OpGt          Operator = "gt"
	OpIn          Operator = "in"
	OpExclude     Operator = "exclude"
	OpLike        Operator = "like"
	OpHas         Operator = "has"
	OpContainsAny Operator = "contains_any"
	OpContains    Operator = "contains"
)

// prefixes lists the operators in Kinto's alternation order: contains_any
// must be tried before contains.
var prefixes = []Operator{OpLt, OpMin, OpMax, OpNot, OpEq, OpGt, OpIn, OpExclude, OpLike, OpHas, OpContainsAny, OpContains}

// Field names Kinto gives a meaning to.
const (
	idField       = "id"
	modifiedField = "last_modified"
	deletedField  = "deleted"
)

// Filter is one condition on a field of the objects.
type Filter struct {
	Field string   // dotted path
	Op    Operator // comparison
	Value any      // decoded value; a list for in, exclude, contains and contains_any

	operand any            // Value as compared (ids turned to strings)
	pattern *regexp.Regexp // like
	search  []any          // contains and contains_any: the searched items
}

// newFilter prepares a filter. Kinto's memory backend compares a filter
// on id with str() of a Python int value, booleans included (not_id=0
// compares with "0", not_id=true with "True").
func newFilter(field string, op Operator, value any) Filter {
	f := Filter{Field: field, Op: op, Value: value, operand: normalize(value)}
	if field == idField {
		if _, isBool := value.(bool); isBool {
			f.operand = pyRepr(value)
		} else if n, ok := toNumber(value); ok && n.isInt() {
			f.operand = n.repr()
		}
	}
	if op == OpContains || op == OpContainsAny {
		if items, ok := pyIter(value); ok {
			f.search = append([]any{}, items...) // never nil once iterable
		}
	}
	return f
}

// pyIntValue returns v when it is a Python int (an integer or a boolean).
func pyIntValue(v any) (*big.Int, bool) {
	if _, ok := v.(bool); ok {
		return pyInt(v)
	}
	if n, ok := toNumber(v); ok && n.isInt() {
		return n.bigInt(), true
	}
	return nil, false
}

// splitParam finds the operator prefix of a filter parameter. Like Kinto's
// regular expression ^(lt|min|...)_([\w.]+)$, the field must be made of
// word characters and dots; otherwise the whole parameter is the field of
// an equality.
func splitParam(param string) (Operator, string) {
	for _, op := range prefixes {
		field, ok := strings.CutPrefix(param, string(op)+"_")
		if ok && isFieldName(field) {
			return op, field
		}
	}
	return OpEq, param
}

// isFieldName reports whether s matches [\w.]+ with Python's Unicode \w.
func isFieldName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r != '.' && !isWordRune(r) {
			return false
		}
	}
	return true
}

// isWordRune is Python's \w for str patterns: letters, numbers and "_".
func isWordRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsNumber(r)
}

// likePattern is the regular expression Kinto's memory backend builds for
// like_: "*" becomes ".*" (and is added at both ends when absent), the
// rest is used as a regular expression, between "^" and "$", searched
// case-insensitively. The final "$" is written as Python's, which also
// matches before a final newline. A pattern Go cannot compile is reported
// as an invalid value (Kinto answers 500 for patterns Python rejects).
func likePattern(value string) (*regexp.Regexp, error) {
	if !strings.Contains(value, "*") {
		value = "*" + value + "*"
	}
	return regexp.Compile(`(?i)^` + strings.ReplaceAll(value, "*", ".*") + `(?:\n?\z)`)
}

// StringifyInts turns integer values of filters on fields into their
// decimal strings, as Kinto's history resource does for its *_id fields
// (ids are strings there, but ?record_id=2 parses as a number).
func (q *Query) StringifyInts(fields ...string) {
	for i, f := range q.Filters {
		if !slices.Contains(fields, f.Field) {
			continue
		}
		if n, ok := toNumber(f.Value); ok && n.isInt() {
			q.Filters[i] = newFilter(f.Field, f.Op, n.repr())
		}
	}
}
