package query

import (
	"slices"
	"testing"
)

// sortObjects mixes every JSON type in the field v. Expected orders were
// checked against Kinto's memory backend.
var sortObjects = []string{
	`{"id":"null","last_modified":1,"v":null}`,
	`{"id":"str-b","last_modified":2,"v":"b"}`,
	`{"id":"str-B","last_modified":3,"v":"B"}`,
	`{"id":"int-2","last_modified":4,"v":2}`,
	`{"id":"float-1.5","last_modified":5,"v":1.5}`,
	`{"id":"int-1","last_modified":6,"v":1}`,
	`{"id":"float-1.0","last_modified":7,"v":1.0}`,
	`{"id":"true","last_modified":8,"v":true}`,
	`{"id":"false","last_modified":9,"v":false}`,
	`{"id":"list-1-2","last_modified":10,"v":[1,2]}`,
	`{"id":"list-1","last_modified":11,"v":[1]}`,
	`{"id":"list-true","last_modified":12,"v":[true]}`,
	`{"id":"obj","last_modified":13,"v":{"a":1}}`,
	`{"id":"missing","last_modified":14}`,
	`{"id":"big","last_modified":15,"v":9007199254740993}`,
	`{"id":"bigf","last_modified":16,"v":9007199254740992.0}`,
	`{"id":"str-empty","last_modified":17,"v":""}`,
	`{"id":"neg","last_modified":18,"v":-3}`,
}

func TestSortTypeMixes(t *testing.T) {
	tests := []struct {
		sort string
		want []string
	}{
		// Equal values (1 and 1.0, [1] and [true]) fall back to the
		// implicit -last_modified. Ints and floats compare exactly
		// (2**53+1 > 2.0**53).
		{"v", []string{"null", "str-empty", "str-B", "str-b", "neg", "float-1.0", "int-1", "float-1.5", "int-2", "bigf", "big",
			"false", "true", "list-true", "list-1", "list-1-2", "obj", "missing"}},
		{"-v", []string{"missing", "obj", "list-1-2", "list-true", "list-1", "true", "false", "big", "bigf", "int-2", "float-1.5",
			"float-1.0", "int-1", "neg", "str-b", "str-B", "str-empty", "null"}},
		{"v,id", []string{"null", "str-empty", "str-B", "str-b", "neg", "float-1.0", "int-1", "float-1.5", "int-2", "bigf", "big",
			"false", "true", "list-1", "list-true", "list-1-2", "obj", "missing"}},
		{"-v,-last_modified", []string{"missing", "obj", "list-1-2", "list-true", "list-1", "true", "false", "big", "bigf", "int-2",
			"float-1.5", "float-1.0", "int-1", "neg", "str-b", "str-B", "str-empty", "null"}},
		{"last_modified", []string{"null", "str-b", "str-B", "int-2", "float-1.5", "int-1", "float-1.0", "true", "false", "list-1-2",
			"list-1", "list-true", "obj", "missing", "big", "bigf", "str-empty", "neg"}},
	}
	for _, tt := range tests {
		q := mustParse(t, "_sort="+tt.sort, Options{})
		objs := mustDecodeAll(t, sortObjects...)
		q.SortObjects(objs)
		if got := ids(objs); !slices.Equal(got, tt.want) {
			t.Errorf("_sort=%s:\n got %q\nwant %q", tt.sort, got, tt.want)
		}
		objs = mustDecodeAll(t, sortObjects...)
		slices.SortStableFunc(objs, q.Compare)
		if got := ids(objs); !slices.Equal(got, tt.want) {
			t.Errorf("_sort=%s with Compare:\n got %q\nwant %q", tt.sort, got, tt.want)
		}
	}
}

func TestSortParsing(t *testing.T) {
	tests := []struct {
		sort string
		want []Sort
	}{
		{"", []Sort{{"last_modified", true}}},
		{"title", []Sort{{"title", false}, {"last_modified", true}}},
		{"-title,+n", []Sort{{"title", true}, {"n", false}, {"last_modified", true}}},
		{"last_modified", []Sort{{"last_modified", false}}},
		// Only the bare name counts as "last_modified already used".
		{"-last_modified", []Sort{{"last_modified", true}, {"last_modified", true}}},
		{"a, last_modified", []Sort{{"a", false}, {"last_modified", false}, {"last_modified", true}}},
		// Items that are not [-+]?[\w.]+ are skipped.
		{"--a,a-b,,-,b.c", []Sort{{"b.c", false}, {"last_modified", true}}},
		{" ü ", []Sort{{"ü", false}, {"last_modified", true}}},
	}
	for _, tt := range tests {
		q := mustParse(t, "_sort="+tt.sort, Options{})
		if !slices.Equal(q.Sort, tt.want) {
			t.Errorf("_sort=%s: %v, want %v", tt.sort, q.Sort, tt.want)
		}
	}
	q := mustParse(t, "_sort=a&_sort=b,c", Options{}) // repeated: not split again
	if want := []Sort{{"a", false}, {"last_modified", true}}; !slices.Equal(q.Sort, want) {
		t.Errorf("repeated _sort: %v, want %v", q.Sort, want)
	}
}

func TestSortIsStable(t *testing.T) {
	objs := mustDecodeAll(t,
		`{"id":"a","last_modified":1,"v":1}`,
		`{"id":"b","last_modified":1,"v":1.0}`,
		`{"id":"c","last_modified":1,"v":0}`,
		`{"id":"d","last_modified":1,"v":true}`,
	)
	q := mustParse(t, "_sort=v", Options{})
	q.SortObjects(objs)
	if got, want := ids(objs), []string{"c", "a", "b", "d"}; !slices.Equal(got, want) {
		t.Errorf("ids = %q, want %q", got, want)
	}
}

func TestDefaultOrder(t *testing.T) {
	for query, want := range map[string]bool{
		"":                        true,
		"_sort=-last_modified":    true,
		"_sort=last_modified":     false,
		"_sort=title":             false,
		"_sort=a-b":               true, // skipped item
		"n=1&_limit=2":            true,
		"_sort=-last_modified,id": false,
	} {
		if got := mustParse(t, query, Options{}).DefaultOrder(); got != want {
			t.Errorf("%q: DefaultOrder = %v, want %v", query, got, want)
		}
	}
}
