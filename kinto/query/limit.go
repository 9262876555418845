package query

import "encoding/json"

// extractLimit is Kinto's _extract_limit. _limit defaults to PaginateBy,
// is capped by it, and by MaxFetch; a _limit that is present but falsy
// (0, or dropped by the schema such as an empty value) means MaxFetch,
// even when PaginateBy is set.
func extractLimit(values map[string]any, opts *Options) int {
	maxFetch := opts.maxFetch()
	v, present := values["_limit"]
	if !present {
		if opts.PaginateBy > 0 {
			return min(opts.PaginateBy, maxFetch)
		}
		return maxFetch
	}
	n, ok := v.(json.Number)
	if !ok || !pyTruthy(n) {
		return maxFetch
	}
	limit := maxFetch
	if num, ok := parseNumber(string(n)); ok && num.kind == numInt && num.i < int64(maxFetch) {
		limit = int(num.i)
	}
	if opts.PaginateBy > 0 {
		limit = min(limit, opts.PaginateBy)
	}
	return limit
}
