package changes

import (
	"github.com/changegate/changegate/kinto/query"
)

// The reference plugin parses its parameters with Python's int()
// (kinto.PyInt) and reports them with Python's repr(); these helpers
// reproduce repr where the answers depend on it.

// pyRepr is Python's repr() of a string (the query package's).
func pyRepr(s string) string { return query.PyRepr(s) }

// pyListRepr is Python's repr() of a list of strings.
func pyListRepr(items []string) string {
	list := make([]any, len(items))
	for i, s := range items {
		list[i] = s
	}
	return query.PyRepr(list)
}
