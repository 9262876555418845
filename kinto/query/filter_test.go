package query

import (
	"slices"
	"testing"
)

// filterObjects is the data set of the filter tests, in storage order.
// Expected answers were checked against Kinto's memory backend.
const (
	objR1 = `{"id":"r1","last_modified":1,"n":1,"title":"Hello","tags":["a","b"],"meta":{"lang":"fr","score":10},"flag":true}`
	objR2 = `{"id":"r2","last_modified":2,"n":1.0,"title":"hello world","tags":["b"],"meta":{"lang":"en"},"flag":false}`
	objR3 = `{"id":"r3","last_modified":3,"n":2,"title":"a.c","tags":[],"meta":{"lang":null}}`
	objR4 = `{"id":"r4","last_modified":4,"n":"2","title":"abc","tags":["a",1],"meta":3}`
	objR5 = `{"id":"r5","last_modified":5,"n":null,"tags":"ab","meta.lang":"dotted"}`
	objR6 = `{"id":"r6","last_modified":6,"n":true,"title":"ABC\n","tags":{"a":1}}`
	objR7 = `{"id":"7","last_modified":7,"n":[1,2]}`
)

func TestFilters(t *testing.T) {
	objs := mustDecodeAll(t, objR1, objR2, objR3, objR4, objR5, objR6, objR7)
	all := []string{"7", "r6", "r5", "r4", "r3", "r2", "r1"}
	tests := []struct {
		query string
		want  []string
	}{
		// Equality: numbers by value (1 == 1.0), each JSON type apart.
		{`n=1`, []string{"r2", "r1"}},
		{`eq_n=2`, []string{"r3"}},
		{`n=true`, []string{"r6"}},
		{`n="2"`, []string{"r4"}},
		{`n=null`, []string{"r5"}},
		{`n=[1,2]`, []string{"7"}},
		{`not_n=1`, []string{"7", "r6", "r5", "r4", "r3"}},
		// Order across types: null < string < number < boolean < array <
		// object < missing.
		{`lt_n=2`, []string{"r5", "r4", "r2", "r1"}},
		{`max_n=2`, []string{"r5", "r4", "r3", "r2", "r1"}},
		{`gt_n=1`, []string{"7", "r6", "r3"}},
		{`min_n=2`, []string{"7", "r6", "r3"}},
		{`gt_title=b`, []string{"7", "r5", "r2"}}, // missing titles rank last
		{`gt_meta.score=5`, all},
		{`lt_meta.score=20`, []string{"r1"}},
		// in_/exclude_ use Python's ==, where True == 1.
		{`in_n=1,"2"`, []string{"r6", "r4", "r2", "r1"}},
		{`exclude_n=1`, []string{"7", "r5", "r4", "r3"}},
		{`in_n=`, []string{}},
		{`exclude_n=`, all},
		{`in_flag=1`, []string{"r1"}},
		{`in_id=r1,r3`, []string{"r3", "r1"}},
		{`in_id="7",r1`, []string{"7", "r1"}},
		{`exclude_id=r1,r2`, []string{"7", "r6", "r5", "r4", "r3"}},
		// Integers compared with ids are turned into strings.
		{`not_id=7`, []string{"r6", "r5", "r4", "r3", "r2", "r1"}},
		// has_: present (even null) or absent.
		{`has_title=true`, []string{"r6", "r4", "r3", "r2", "r1"}},
		{`has_title=false`, []string{"7", "r5"}},
		{`has_title=0`, []string{"7", "r5"}},
		{`has_meta.lang=true`, []string{"r5", "r3", "r2", "r1"}},
		// Dotted fields, and keys that contain dots.
		{`meta.lang=fr`, []string{"r1"}},
		{`meta.lang=dotted`, []string{"r5"}},
		{`meta.lang=null`, []string{"r3"}},
		// contains_: lists, characters of strings, keys of objects.
		{`contains_tags=a`, []string{"r6", "r5", "r4", "r1"}},
		{`contains_tags=["a","b"]`, []string{"r5", "r1"}},
		{`contains_tags=1`, []string{"r4"}},
		{`contains_tags=[]`, []string{"r6", "r5", "r4", "r3", "r2", "r1"}},
		{`contains_any_tags=["b",1]`, []string{"r5", "r4", "r2", "r1"}},
		{`contains_any_tags=[]`, []string{}},
		{`flag=true`, []string{"r1"}},
		{`flag=false`, []string{"r2"}},
		{`not_flag=true`, []string{"7", "r6", "r5", "r4", "r3", "r2"}},
		// Not an operator: an equality on the field "bogus_n".
		{`bogus_n=1`, []string{}},
		{`n=1&title=Hello`, []string{"r1"}},
		{`ü=1`, []string{}},
		// like_ on objects without the field: Kinto fails (500), no match
		// here.
		{`like_title=hello`, []string{"r2", "r1"}},
		{`like_title=a*`, []string{"r6", "r4", "r3"}},
		{`like_title=a.c`, []string{"r6", "r4", "r3"}}, // "." is a regexp wildcard in Kinto's memory backend
		{`like_title=*world`, []string{"r2"}},
		{`like_title=*`, []string{"r6", "r4", "r3", "r2", "r1"}},
		{`like_title=ABC`, []string{"r6", "r4"}},
		{`like_title=h*o`, []string{"r1"}},
	}
	for _, tt := range tests {
		q := mustParse(t, tt.query, Options{})
		if got := ids(list(q, objs)); !slices.Equal(got, tt.want) {
			t.Errorf("%s: ids = %q, want %q", tt.query, got, tt.want)
		}
	}
}

func TestFiltersAreAnded(t *testing.T) {
	// Kinto's memory backend lets has_ overwrite earlier filters; here
	// every filter must hold.
	objs := mustDecodeAll(t, objR1, objR2, objR3)
	q := mustParse(t, `flag=true&has_title=true`, Options{})
	if got := ids(list(q, objs)); !slices.Equal(got, []string{"r1"}) {
		t.Errorf("ids = %q, want [r1]", got)
	}
}

func TestIncludeDeleted(t *testing.T) {
	for query, want := range map[string]bool{
		"":                       false,
		"n=1":                    false,
		"_since=1":               true,
		"_before=1":              true,
		"last_modified=1":        true,
		"has_last_modified=true": true,
		"_sort=last_modified":    false,
		"last_modified.x=1":      false,
	} {
		if got := mustParse(t, query, Options{}).IncludeDeleted; got != want {
			t.Errorf("%q: IncludeDeleted = %v, want %v", query, got, want)
		}
	}
}
