package query

import (
	"net/url"
	"strings"
	"time"
)

// Default settings, as Kinto's.
const (
	DefaultMaxFetch = 10000 // storage_max_fetch_size
)

// Alert sent by Kinto when the deprecated _to parameter is used: an Alert
// header {"code": "soft-eol", "message": ToAlertMessage, "url": ToAlertURL}.
const (
	ToAlertMessage = "_to is now deprecated, you should use _before instead"
	ToAlertURL     = "https://kinto.readthedocs.io/en/2.4.0/api/resource.html#list-of-available-url-parameters"
)

// Options are the settings and context a query is parsed with.
type Options struct {
	// Now is the current time in epoch milliseconds (0: the clock).
	// Timestamps in filters must be below Now + 24h.
	Now int64
	// PaginateBy is Kinto's paginate_by: the page size when _limit is
	// absent, and the largest allowed. 0 for none.
	PaginateBy int
	// MaxFetch is Kinto's storage_max_fetch_size, the largest page (0:
	// DefaultMaxFetch).
	MaxFetch int
	// Strict, when set, reports whether a root field (the part of a
	// dotted field before the first dot) is in the resource's schema. Kinto
	// then rejects filters, sorting and _fields on other fields. id,
	// last_modified and deleted are always known. Leave it nil for
	// records, buckets, collections and groups, whose schemas accept any
	// field.
	Strict func(root string) bool
}

// now returns the current time in milliseconds.
func (o *Options) now() int64 {
	if o.Now != 0 {
		return o.Now
	}
	return time.Now().UnixMilli()
}

// maxFetch returns the largest page size.
func (o *Options) maxFetch() int {
	if o.MaxFetch > 0 {
		return o.MaxFetch
	}
	return DefaultMaxFetch
}

// known reports whether field may be filtered, sorted or selected.
func (o *Options) known(field string) bool {
	if o.Strict == nil {
		return true
	}
	root, _, _ := strings.Cut(field, ".")
	return root == idField || root == modifiedField || root == deletedField || o.Strict(root)
}

// Query is a parsed plural-endpoint query string.
type Query struct {
	// Filters are and-ed.
	Filters []Filter
	// Sort always ends with last_modified (descending unless _sort says
	// otherwise).
	Sort []Sort
	// Limit is the page size, always > 0: _limit capped by PaginateBy
	// and MaxFetch, or PaginateBy, or MaxFetch.
	Limit int
	// Fields is the _fields projection followed by id and last_modified;
	// nil when there is none.
	Fields []string
	// IncludeDeleted is set when a filter is on last_modified (including
	// _since and _before): tombstones are then listed too.
	IncludeDeleted bool
	// DeprecatedTo is set when _to was used (see ToAlertMessage).
	DeprecatedTo bool
	// Offset and Nonce come from _token (Offset 0 and Nonce "" without
	// one, or when the token's nonce is not a string).
	Offset int
	Nonce  string

	// rules are the pagination rules from _token: an object must pass
	// every filter of one of them.
	rules [][]Filter
}

// Parse reads a plural endpoint's query string the way Kinto validates it
// for GET. HEAD and DELETE read the same parameters except _fields, which
// they ignore (but with Options.Strict, an unknown _fields field is still
// an error here). Parameters starting with "_" that Kinto does not know,
// such as _expected, are ignored. An invalid query gives an *Error.
//
// url.Values has no order, so when several filters are invalid the one
// reported is the first by name, where Kinto reports the first in the
// query string.
func Parse(values url.Values, opts Options) (*Query, error) {
	params := collect(values)
	schema, err := validateSchema(params)
	if err != nil {
		return nil, err
	}
	decoded := decodeValues(params, schema)
	q := &Query{}
	if err := q.extractFilters(params, decoded, &opts); err != nil {
		return nil, err
	}
	q.Limit = extractLimit(decoded, &opts)
	if q.Sort, err = extractSorting(decoded, &opts); err != nil {
		return nil, err
	}
	if q.Fields, err = extractFields(decoded, &opts); err != nil {
		return nil, err
	}
	if err := q.parseToken(decoded); err != nil {
		return nil, err
	}
	for _, f := range q.Filters {
		q.IncludeDeleted = q.IncludeDeleted || f.Field == modifiedField
	}
	return q, nil
}
