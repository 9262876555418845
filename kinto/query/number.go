package query

import (
	"cmp"
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"strconv"
)

// numKind tells how a Python number is held.
type numKind uint8

const (
	numInt   numKind = iota // an int that fits int64
	numUint                 // an int above math.MaxInt64 (up to 2**64-1)
	numFloat                // a float
)

// number is a JSON number as Python holds it after python-rapidjson's
// native decoding: an int between -2**63 and 2**64-1, else a float.
type number struct {
	kind numKind
	i    int64
	u    uint64
	f    float64
}

// parseNumber reads a JSON number literal. It fails on numbers that
// overflow a double, which rapidjson refuses.
func parseNumber(s string) (number, bool) {
	if !isFloatLiteral(s) {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return number{kind: numInt, i: i}, true
		}
		if u, err := strconv.ParseUint(s, 10, 64); err == nil {
			return number{kind: numUint, u: u}, true
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	// ParseFloat reports both overflow (±Inf) and underflow (0) as
	// ErrRange; rapidjson refuses the first and rounds the second.
	if !checkFloat(f) || err != nil && !errors.Is(err, strconv.ErrRange) {
		return number{}, false
	}
	return number{kind: numFloat, f: f}, true
}

// toNumber returns v as a number if it is one (json.Number or a Go
// numeric type). Booleans are not numbers here; see asNumeric.
func toNumber(v any) (number, bool) {
	switch x := v.(type) {
	case json.Number:
		return parseNumber(string(x))
	case number:
		return x, true
	case float64:
		return number{kind: numFloat, f: x}, checkFloat(x)
	case float32:
		return number{kind: numFloat, f: float64(x)}, checkFloat(float64(x))
	case int:
		return number{kind: numInt, i: int64(x)}, true
	case int64:
		return number{kind: numInt, i: x}, true
	case int32:
		return number{kind: numInt, i: int64(x)}, true
	case uint64:
		if x > math.MaxInt64 {
			return number{kind: numUint, u: x}, true
		}
		return number{kind: numInt, i: int64(x)}, true
	}
	return number{}, false
}

// isNumber reports whether v is a JSON number (not a boolean).
func isNumber(v any) bool {
	_, ok := toNumber(v)
	return ok
}

// asNumeric returns v as a number when Python would compare it as one
// inside a container, where True == 1 and False == 0.
func asNumeric(v any) (number, bool) {
	if b, ok := v.(bool); ok {
		if b {
			return number{kind: numInt, i: 1}, true
		}
		return number{kind: numInt}, true
	}
	return toNumber(v)
}

// isInt reports whether n is a Python int.
func (n number) isInt() bool { return n.kind != numFloat }

// bigInt returns an int n as a big.Int.
func (n number) bigInt() *big.Int {
	if n.kind == numUint {
		return new(big.Int).SetUint64(n.u)
	}
	return big.NewInt(n.i)
}

// bigFloat returns n exactly as a big.Float.
func (n number) bigFloat() *big.Float {
	switch n.kind {
	case numFloat:
		return big.NewFloat(n.f)
	case numUint:
		return new(big.Float).SetUint64(n.u)
	}
	return new(big.Float).SetInt64(n.i)
}

// truncInt is Python's int(n): floats are truncated toward zero, exactly.
func (n number) truncInt() *big.Int {
	if n.isInt() {
		return n.bigInt()
	}
	i, _ := big.NewFloat(n.f).Int(nil)
	return i
}

// compareNumbers compares two numbers exactly, as Python compares ints and
// floats.
func compareNumbers(a, b number) int {
	switch {
	case a.kind == numInt && b.kind == numInt:
		return cmp.Compare(a.i, b.i)
	case a.kind == numFloat && b.kind == numFloat:
		return cmp.Compare(a.f, b.f)
	case a.kind == numUint && b.kind == numUint:
		return cmp.Compare(a.u, b.u)
	case a.kind == numUint && b.kind == numInt:
		return 1
	case a.kind == numInt && b.kind == numUint:
		return -1
	}
	return a.bigFloat().Cmp(b.bigFloat())
}
