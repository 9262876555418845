package query

import (
	"bytes"
	"encoding/json"
	"net/url"
	"os"
	"slices"
	"strings"
	"testing"
)

// goldenCase is one query run through Kinto's own code by
// running Kinto 26.3.1 (python3 with colander and python-rapidjson).
type goldenCase struct {
	Query        [][2]string `json:"query"`
	Now          int64       `json:"now"`
	PaginateBy   int         `json:"paginate_by"`
	Strict       []string    `json:"strict"`
	DeprecatedTo bool        `json:"deprecated_to"`
	Expect       struct {
		Errors         []map[string]any `json:"errors"`
		Filters        [][3]any         `json:"filters"`
		Sort           [][2]any         `json:"sort"`
		Limit          int              `json:"limit"`
		Fields         []string         `json:"fields"`
		Offset         int              `json:"offset"`
		IncludeDeleted bool             `json:"include_deleted"`
		IDs            []string         `json:"ids"`
		Projected      map[string]any   `json:"projected"`
	} `json:"expect"`
}

// TestKintoGolden replays queries whose answers were computed by Kinto
// 26.3.1's own functions, run once outside this repository, over a fixed set of
// objects: errors word for word, filters, sorting, page size, projection,
// and the ids of the matching objects in order (pagination rules from
// _token included).
func TestKintoGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/kinto_golden.json")
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc struct {
		Objects []map[string]any `json:"objects"`
		Cases   []goldenCase     `json:"cases"`
	}
	if err := dec.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Cases) < 500 {
		t.Fatalf("only %d golden cases", len(doc.Cases))
	}
	for _, c := range doc.Cases {
		t.Run(queryText(c.Query), func(t *testing.T) { checkGolden(t, c, doc.Objects) })
	}
}

// queryText renders a case's query for test names.
func queryText(pairs [][2]string) string {
	parts := make([]string, len(pairs))
	for i, p := range pairs {
		parts[i] = p[0] + "=" + p[1]
	}
	return strings.Join(parts, "&")
}

// checkGolden parses one case and compares everything Kinto computed.
func checkGolden(t *testing.T, c goldenCase, objects []map[string]any) {
	values := url.Values{}
	for _, p := range c.Query {
		values.Add(p[0], p[1])
	}
	opts := Options{Now: c.Now, PaginateBy: c.PaginateBy}
	if c.Strict != nil {
		opts.Strict = func(root string) bool { return slices.Contains(c.Strict, root) }
	}
	q, err := Parse(values, opts)
	if c.Expect.Errors != nil {
		checkGoldenErrors(t, err, c.Expect.Errors)
		return
	}
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	checkGoldenQuery(t, c, q)
	var found []map[string]any
	for _, o := range objects {
		if q.Match(o) {
			found = append(found, o)
		}
	}
	q.SortObjects(found)
	ids := []string{}
	for _, o := range found {
		ids = append(ids, o["id"].(string))
	}
	if !slices.Equal(ids, c.Expect.IDs) {
		t.Errorf("ids = %q, Kinto %q", ids, c.Expect.IDs)
	}
	if c.Expect.Projected != nil && len(found) > 0 {
		if got, want := canonical(q.Project(found[0])), canonical(c.Expect.Projected); got != want {
			t.Errorf("projection = %s, Kinto %s", got, want)
		}
	}
}

// checkGoldenErrors compares an error's details with Kinto's.
func checkGoldenErrors(t *testing.T, err error, want []map[string]any) {
	t.Helper()
	qe, ok := err.(*Error)
	if !ok {
		t.Fatalf("err = %v, want Kinto errors %v", err, want)
	}
	var got []map[string]any
	for _, d := range qe.Details() {
		var name any = d.Name
		if d.Nameless {
			name = nil
		}
		got = append(got, map[string]any{"location": d.Location, "name": name, "description": d.Description})
	}
	if canonical(toAny(got)) != canonical(toAny(want)) {
		t.Errorf("errors = %v, Kinto %v", got, want)
	}
}

// checkGoldenQuery compares the parsed query with Kinto's.
func checkGoldenQuery(t *testing.T, c goldenCase, q *Query) {
	t.Helper()
	var filters []any
	for _, f := range q.Filters {
		filters = append(filters, []any{f.Field, f.Value, strings.ToUpper(string(f.Op))})
	}
	var want []any
	for _, f := range c.Expect.Filters {
		want = append(want, []any{f[0], f[1], f[2]})
	}
	if canonical(filters) != canonical(want) {
		t.Errorf("filters = %s, Kinto %s", canonical(filters), canonical(want))
	}
	var sorting []any
	for _, s := range q.Sort {
		dir := json.Number("1")
		if s.Desc {
			dir = "-1"
		}
		sorting = append(sorting, []any{s.Field, dir})
	}
	var wantSort []any
	for _, s := range c.Expect.Sort {
		wantSort = append(wantSort, []any{s[0], s[1]})
	}
	if canonical(sorting) != canonical(wantSort) {
		t.Errorf("sort = %s, Kinto %s", canonical(sorting), canonical(wantSort))
	}
	if q.Limit != c.Expect.Limit || q.Offset != c.Expect.Offset || q.IncludeDeleted != c.Expect.IncludeDeleted || q.DeprecatedTo != c.DeprecatedTo {
		t.Errorf("limit, offset, include deleted, _to = %d %d %v %v, Kinto %d %d %v %v", q.Limit, q.Offset, q.IncludeDeleted,
			q.DeprecatedTo, c.Expect.Limit, c.Expect.Offset, c.Expect.IncludeDeleted, c.DeprecatedTo)
	}
	if len(c.Expect.Fields) > 0 && !slices.Equal(q.Fields, c.Expect.Fields) || len(c.Expect.Fields) == 0 && q.Fields != nil {
		t.Errorf("fields = %q, Kinto %q", q.Fields, c.Expect.Fields)
	}
}

// toAny converts error details to decoded JSON for canonical comparison.
func toAny(details []map[string]any) any {
	out := make([]any, len(details))
	for i, d := range details {
		out[i] = d
	}
	return out
}
