package query

import (
	"math"
	"math/big"
	"slices"
	"strings"
)

// SinceHint returns a bound h such that every object the query can match
// has last_modified > h, for a store to skip older objects; 0 when the
// query implies none. It reads the filters on last_modified (_since,
// gt_, min_ and equality) and, after a _token, the pagination rules when
// they all bound last_modified from below (ascending last_modified sort).
func (q *Query) SinceHint() int64 {
	h := filtersBound(q.Filters)
	if len(q.rules) > 0 {
		r := int64(math.MaxInt64)
		for _, rule := range q.rules {
			r = min(r, filtersBound(rule))
		}
		h = max(h, r)
	}
	return h
}

// SinceExact reports whether SinceHint says all the query's filters say:
// its filters (no pagination rules) are all lower bounds on last_modified
// (gt_ and min_, which _since is), so that every object past SinceHint
// matches, and a store that skips the older ones has matched already.
func (q *Query) SinceExact() bool {
	if len(q.rules) > 0 {
		return false
	}
	for i := range q.Filters {
		f := &q.Filters[i]
		if (f.Op != OpGt && f.Op != OpMin) || f.lowerBound() <= 0 {
			return false
		}
	}
	return true
}

// filtersBound is the largest lower bound the filters put on
// last_modified, 0 if none.
func filtersBound(filters []Filter) int64 {
	var h int64
	for i := range filters {
		h = max(h, filters[i].lowerBound())
	}
	return h
}

// lowerBound returns b such that the filter only matches last_modified > b
// (0 when it gives no such bound). Only numbers bound: other values rank
// below or above every number.
func (f *Filter) lowerBound() int64 {
	if f.Field != modifiedField {
		return 0
	}
	n, ok := toNumber(f.operand)
	if !ok {
		return 0
	}
	var b *big.Int
	switch f.Op {
	case OpGt: // lm > v  ⇔  lm > floor(v)
		b = floor(n)
	case OpMin, OpEq: // lm >= v  ⇔  lm > ceil(v) - 1
		b = new(big.Int).Sub(ceil(n), big.NewInt(1))
	default:
		return 0
	}
	switch {
	case b.Sign() <= 0:
		return 0
	case !b.IsInt64():
		return math.MaxInt64
	}
	return b.Int64()
}

// floor returns the largest integer <= n.
func floor(n number) *big.Int {
	if n.isInt() {
		return n.bigInt()
	}
	i, _ := big.NewFloat(math.Floor(n.f)).Int(nil)
	return i
}

// ceil returns the smallest integer >= n.
func ceil(n number) *big.Int {
	if n.isInt() {
		return n.bigInt()
	}
	i, _ := big.NewFloat(math.Ceil(n.f)).Int(nil)
	return i
}

// ReadsOnly reports whether evaluating the query (filters, pagination
// rules, sorting and projection) reads no root field outside fields, so
// that a store may match objects without decoding them whole.
func (q *Query) ReadsOnly(fields ...string) bool {
	known := func(path string) bool {
		root, _, _ := strings.Cut(path, ".")
		return slices.Contains(fields, root)
	}
	for _, f := range q.Filters {
		if !known(f.Field) {
			return false
		}
	}
	for _, rule := range q.rules {
		for _, f := range rule {
			if !known(f.Field) {
				return false
			}
		}
	}
	for _, s := range q.Sort {
		if !known(s.Field) {
			return false
		}
	}
	for _, f := range q.Fields {
		if !known(f) {
			return false
		}
	}
	return true
}
