package query

import (
	"cmp"
	"encoding/json"
	"math"
	"slices"
	"strings"
)

// Type ranks of Kinto's schwartzian_transform, which mimics PostgreSQL's
// JSONB order: null < string < number < boolean < array < object, and an
// absent field (MISSING, a SQL NULL) after everything.
const (
	rankNull = iota
	rankString
	rankNumber
	rankBool
	rankArray
	rankObject
	rankMissing
)

// rank returns the type rank of a decoded value. Values of other Go types
// rank as missing.
func rank(v any) int {
	r, _ := classify(v)
	return r
}

// classify returns the type rank of v and, for a number, its value.
func classify(v any) (int, number) {
	switch x := v.(type) {
	case nil:
		return rankNull, number{}
	case string:
		return rankString, number{}
	case bool:
		return rankBool, number{}
	case []any:
		return rankArray, number{}
	case map[string]any:
		return rankObject, number{}
	case number:
		return rankNumber, x
	}
	if n, ok := toNumber(v); ok {
		return rankNumber, n
	}
	return rankMissing, number{}
}

// normalize returns v with a JSON number parsed once, for values that are
// compared many times.
func normalize(v any) any {
	if n, ok := v.(json.Number); ok {
		if num, ok := parseNumber(string(n)); ok {
			return num
		}
	}
	return v
}

// compareValues orders two field values as Kinto's memory backend does:
// by type rank first, then by value within a type. It is the order of the
// sort and of the lt_/gt_/min_/max_/eq/not_ filters, and 0 exactly when
// they are equal for eq.
//
// Kinto compares two values of one type with Python's operators, which
// raise TypeError (a 500) for two different objects, or for arrays whose
// first differing elements are of incomparable types. Here those cases
// get a fixed order instead (see comparePy).
func compareValues(a, b any) int {
	ra, na := classify(a)
	rb, nb := classify(b)
	if ra != rb {
		return cmp.Compare(ra, rb)
	}
	switch ra {
	case rankString:
		return strings.Compare(a.(string), b.(string))
	case rankNumber:
		return compareNumbers(na, nb)
	case rankBool:
		return cmpBool(a.(bool), b.(bool))
	case rankArray:
		return compareLists(a.([]any), b.([]any))
	case rankObject:
		return compareObjects(a.(map[string]any), b.(map[string]any))
	}
	return 0 // null and missing: all alike
}

// cmpBool orders false before true.
func cmpBool(a, b bool) int {
	switch {
	case a == b:
		return 0
	case b:
		return -1
	}
	return 1
}

// pyEqual is Python's == between decoded values: numbers compare by value
// whatever their type, and inside containers booleans are the numbers 0
// and 1 (Python's True == 1). Missing equals only itself.
func pyEqual(a, b any) bool {
	if na, ok := asNumeric(a); ok {
		nb, ok := asNumeric(b)
		return ok && compareNumbers(na, nb) == 0
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		return ok && slices.EqualFunc(x, y, pyEqual)
	case map[string]any:
		y, ok := b.(map[string]any)
		return ok && objectsEqual(x, y)
	}
	return isMissing(a) && isMissing(b)
}

// objectsEqual is Python's == between two dicts.
func objectsEqual(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, va := range a {
		vb, ok := b[k]
		if !ok || !pyEqual(va, vb) {
			return false
		}
	}
	return true
}

// compareLists is Python's list order: the first elements that differ
// decide, else the shorter list comes first.
func compareLists(a, b []any) int {
	for i := range min(len(a), len(b)) {
		if !pyEqual(a[i], b[i]) {
			return comparePy(a[i], b[i])
		}
	}
	return cmp.Compare(len(a), len(b))
}

// comparePy orders two elements of arrays as Python's < does (booleans
// being numbers there). Where Python raises TypeError, elements of
// different types order by type rank and different objects by
// compareObjects. It returns 0 only for equal values.
func comparePy(a, b any) int {
	if pyEqual(a, b) {
		return 0
	}
	na, aNum := asNumeric(a)
	nb, bNum := asNumeric(b)
	if aNum && bNum {
		return compareNumbers(na, nb)
	}
	ra, rb := elementRank(a), elementRank(b)
	if ra != rb {
		return cmp.Compare(ra, rb)
	}
	switch x := a.(type) {
	case string:
		return strings.Compare(x, b.(string))
	case []any:
		return compareLists(x, b.([]any))
	case map[string]any:
		return compareObjects(x, b.(map[string]any))
	}
	return 0
}

// elementRank is rank with booleans counted as numbers.
func elementRank(v any) int {
	if _, ok := v.(bool); ok {
		return rankNumber
	}
	return rank(v)
}

// compareObjects orders objects: equal ones compare 0; Python cannot order
// different dicts, so, as PostgreSQL does, the object with more keys comes
// last, then keys compare in sorted order, then values key by key.
func compareObjects(a, b map[string]any) int {
	if objectsEqual(a, b) {
		return 0
	}
	if c := cmp.Compare(len(a), len(b)); c != 0 {
		return c
	}
	ka, kb := sortedKeys(a), sortedKeys(b)
	if c := slices.Compare(ka, kb); c != 0 {
		return c
	}
	for _, k := range ka {
		if c := comparePy(a[k], b[k]); c != 0 {
			return c
		}
	}
	return 0
}

// sortedKeys returns the keys of m in order.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// sameJSON reports whether Kinto's canonical_json (sorted-keys JSON) gives
// a and b the same text. Unlike ==, it tells 1 from 1.0 and true from 1.
func sameJSON(a, b any) bool {
	na, aNum := toNumber(a)
	nb, bNum := toNumber(b)
	if aNum || bNum {
		return aNum && bNum && sameNumber(na, nb)
	}
	switch x := a.(type) {
	case nil:
		return b == nil
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	case []any:
		y, ok := b.([]any)
		return ok && slices.EqualFunc(x, y, sameJSON)
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, vx := range x {
			if vy, ok := y[k]; !ok || !sameJSON(vx, vy) {
				return false
			}
		}
		return true
	}
	return false
}

// sameNumber reports whether two numbers print alike: ints of equal
// value, or floats with the same bits (0.0 and -0.0 print differently).
func sameNumber(a, b number) bool {
	if a.isInt() != b.isInt() {
		return false
	}
	if a.isInt() {
		return compareNumbers(a, b) == 0
	}
	return math.Float64bits(a.f) == math.Float64bits(b.f)
}
