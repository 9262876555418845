package query

import (
	"net/url"
	"testing"
)

// testNow is the clock of the tests, in epoch milliseconds.
const testNow = 1795318542626

// mustValues parses a raw query string.
func mustValues(t testing.TB, raw string) url.Values {
	t.Helper()
	v, err := url.ParseQuery(raw)
	if err != nil {
		t.Fatalf("parsing %q: %v", raw, err)
	}
	return v
}

// mustParse parses a raw query string that must be valid.
func mustParse(t testing.TB, raw string, opts Options) *Query {
	t.Helper()
	if opts.Now == 0 {
		opts.Now = testNow
	}
	q, err := Parse(mustValues(t, raw), opts)
	if err != nil {
		t.Fatalf("Parse(%q): %v", raw, err)
	}
	return q
}

// mustDecode decodes a JSON object.
func mustDecode(t testing.TB, s string) map[string]any {
	t.Helper()
	obj, err := Decode([]byte(s))
	if err != nil {
		t.Fatalf("decoding %s: %v", s, err)
	}
	return obj
}

// mustDecodeAll decodes JSON objects.
func mustDecodeAll(t testing.TB, docs ...string) []map[string]any {
	t.Helper()
	out := make([]map[string]any, len(docs))
	for i, d := range docs {
		out[i] = mustDecode(t, d)
	}
	return out
}

// ids returns the ids of objs.
func ids(objs []map[string]any) []string {
	out := []string{}
	for _, o := range objs {
		id, _ := o["id"].(string)
		out = append(out, id)
	}
	return out
}

// list runs q over objs as a store does: filter, then sort.
func list(q *Query, objs []map[string]any) []map[string]any {
	var found []map[string]any
	for _, o := range objs {
		if q.Match(o) {
			found = append(found, o)
		}
	}
	q.SortObjects(found)
	return found
}
