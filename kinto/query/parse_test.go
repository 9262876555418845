package query

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestParseErrors(t *testing.T) {
	strict := func(root string) bool { return root == "title" }
	tests := []struct {
		query  string
		strict bool
		want   Error
		msg    string
	}{
		// Transcript 35.
		{query: `_since=abc`, want: Error{Location: "querystring", Name: "_since", Description: `"abc" is not a number`},
			msg: `_since in querystring: "abc" is not a number`},
		{query: `_before=abc`, want: Error{Location: "querystring", Name: "_before", Description: `"abc" is not a number`}},
		{query: `_to=-1`, want: Error{Location: "querystring", Name: "_to", Description: "-1 is less than minimum value 0"}},
		// Past 2**64-1, rapidjson reads a float: 1e20.
		{query: `_since=99999999999999999999`, want: Error{Location: "querystring", Name: "_since",
			Description: "100000000000000000000 is greater than maximum value 9223372036854775808"}},
		{query: `_since=18446744073709551615`, want: Error{Location: "querystring", Name: "_since",
			Description: "18446744073709551615 is greater than maximum value 9223372036854775808"}},
		// Within the schema's range, but not before tomorrow.
		{query: `_since=9223372036854775808`, want: Error{Location: "querystring", Name: "_since", Description: "Invalid value for _since"},
			msg: "Invalid value for _since"},
		{query: `_since=`, want: Error{Location: "querystring", Name: "_since", Description: "Invalid value for _since"}},
		{query: `_since=[]`, want: Error{Location: "querystring", Name: "_since", Description: "Invalid value for _since"}},
		{query: `_since=[1,2]`, want: Error{Location: "querystring", Name: "_since", Description: `"[1, 2]" is not a number`}},
		{query: `_since=1&_since=2`, want: Error{Location: "querystring", Name: "_since", Description: `"['1', '2']" is not a number`}},
		{query: `_limit=abc`, want: Error{Location: "querystring", Name: "_limit", Description: `"abc" is not a number`}},
		{query: `_limit=-1`, want: Error{Location: "querystring", Name: "_limit", Description: "-1 is less than minimum value 0"}},
		{query: `_limit=1e30`, want: Error{Location: "querystring", Name: "_limit",
			Description: "1000000000000000019884624838656 is greater than maximum value 9223372036854775808"}},
		{query: `_limit={"b":1,"a":[1,"x",null,true,1.5e-7]}`, want: Error{Location: "querystring", Name: "_limit",
			Description: `"{'b': 1, 'a': [1, 'x', None, True, 1.5e-07]}" is not a number`}},
		{query: `last_modified=abc`, want: Error{Location: "querystring", Name: "last_modified", Description: `"abc" is not a number`}},
		{query: `id=5`, want: Error{Location: "querystring", Name: "id", Description: "5 is not a string: {'id': ''}"}},
		{query: `id=["a"]`, want: Error{Location: "querystring", Name: "id", Description: "['a'] is not a string: {'id': ''}"}},
		{query: `_token=true`, want: Error{Location: "querystring", Name: "_token", Description: "True is not a string: {'_token': ''}"}},
		{query: `_token={"a":"it's"}`, want: Error{Location: "querystring", Name: "_token",
			Description: `{'a': "it's"} is not a string: {'_token': ''}`}},
		{query: `_token=abc`, want: Error{Location: "querystring", Description: "_token has invalid content", Nameless: true},
			msg: "querystring: _token has invalid content"},
		{query: `_token=e30=`, want: Error{Location: "querystring", Description: "_token has invalid content", Nameless: true}},
		{query: `_token=W10=`, want: Error{Location: "querystring", Description: "_token has invalid content", Nameless: true}},
		{query: `in_id=1,2`, want: Error{Location: "querystring", Name: "in_id", Description: "Invalid value for in_id"}},
		// Kinto checks in_/exclude_ on last_modified as a timestamp, which
		// a list never is.
		{query: `in_last_modified=1,2`, want: Error{Location: "querystring", Name: "in_last_modified", Description: "Invalid value for in_last_modified"}},
		{query: `exclude_last_modified=1`, want: Error{Location: "querystring", Name: "exclude_last_modified", Description: "Invalid value for exclude_last_modified"}},
		{query: `gt_last_modified=abc`, want: Error{Location: "querystring", Name: "gt_last_modified", Description: "Invalid value for gt_last_modified"}},
		{query: `has_last_modified=abc`, want: Error{Location: "querystring", Name: "has_last_modified", Description: "Invalid value for has_last_modified"}},
		{query: `contains_id=a`, want: Error{Location: "querystring", Name: "contains_id", Description: "Field 'id' is not an array"},
			msg: "contains_id in querystring: Field 'id' is not an array"},
		{query: `contains_last_modified=1`, want: Error{Location: "querystring", Name: "contains_last_modified", Description: "Invalid value for contains_last_modified"}},
		{query: `like_title=5`, want: Error{Location: "querystring", Name: "like_title", Description: "Invalid value for like_title"}},
		{query: `like_title=(`, want: Error{Location: "querystring", Name: "like_title", Description: "Invalid value for like_title"}},
		{query: "title=a%00b", want: Error{Location: "querystring", Name: "title", Description: "Invalid character 0x00"}},
		{query: "in_tags=a,b%00", want: Error{Location: "querystring", Name: "in_tags", Description: "Invalid character 0x00"}},
		{query: "ti%00tle=a", want: Error{Location: "querystring", Name: "ti\x00tle", Description: "Invalid character 0x00"}},
		{query: `has_a=1&contains_{"k%00":1}=2`, want: Error{Location: "querystring", Name: `contains_{"k` + "\x00" + `":1}`, Description: "Invalid character 0x00"}},
		{query: `foo=1`, strict: true, want: Error{Location: "querystring", Name: "foo", Description: "Unknown filter field 'foo'"}},
		{query: `gt_foo.bar=1`, strict: true, want: Error{Location: "querystring", Name: "gt_foo.bar", Description: "Unknown filter field 'gt_foo.bar'"}},
		{query: `_sort=-foo`, strict: true, want: Error{Location: "querystring", Description: "Unknown sort field 'foo'", Nameless: true},
			msg: "querystring: Unknown sort field 'foo'"},
		{query: `_fields=title,foo.bar`, strict: true, want: Error{Location: "body", Name: "Invalid _fields parameter",
			Description: "Fields foo do not exist"}, msg: "Invalid _fields parameter in body: Fields foo do not exist"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			opts := Options{Now: testNow}
			if tt.strict {
				opts.Strict = strict
			}
			_, err := Parse(mustValues(t, tt.query), opts)
			qe, ok := err.(*Error)
			if !ok {
				t.Fatalf("err = %v, want %+v", err, tt.want)
			}
			if qe.Location != tt.want.Location || qe.Name != tt.want.Name || qe.Description != tt.want.Description || qe.Nameless != tt.want.Nameless {
				t.Errorf("err = %+v, want %+v", *qe, tt.want)
			}
			if tt.msg != "" && qe.Message() != tt.msg {
				t.Errorf("message = %q, want %q", qe.Message(), tt.msg)
			}
		})
	}
}

func TestParseSeveralSchemaErrors(t *testing.T) {
	_, err := Parse(mustValues(t, `id=5&_since=abc&_limit=abc&n=1`), Options{Now: testNow})
	qe, ok := err.(*Error)
	if !ok {
		t.Fatalf("err = %v", err)
	}
	var names []string
	for _, d := range qe.Details() {
		names = append(names, d.Name)
	}
	if want := []string{"_limit", "_since", "id"}; !slices.Equal(names, want) {
		t.Errorf("details names = %q, want %q (sorted like Kinto)", names, want)
	}
}

func TestErrorJSON(t *testing.T) {
	_, err := Parse(mustValues(t, `_since=abc`), Options{Now: testNow})
	got, jerr := json.Marshal(err)
	if jerr != nil {
		t.Fatal(jerr)
	}
	// Transcript 35, byte for byte.
	want := `{"code":400,"errno":107,"error":"Invalid parameters","message":"_since in querystring: \"abc\" is not a number",` +
		`"details":[{"location":"querystring","name":"_since","description":"\"abc\" is not a number"}]}`
	if string(got) != want {
		t.Errorf("body = %s\nwant   %s", got, want)
	}
	_, err = Parse(mustValues(t, `_token=abc`), Options{Now: testNow})
	got, _ = json.Marshal(err)
	want = `{"code":400,"errno":107,"error":"Invalid parameters","message":"querystring: _token has invalid content",` +
		`"details":[{"location":"querystring","name":null,"description":"_token has invalid content"}]}`
	if string(got) != want {
		t.Errorf("body = %s\nwant   %s", got, want)
	}
}

func TestParseIgnoresUnderscoreParams(t *testing.T) {
	q := mustParse(t, `_expected=abc&_foo=[1&_=x&_fields=&_sort=`, Options{})
	if len(q.Filters) != 0 || q.Fields != nil || q.IncludeDeleted {
		t.Errorf("filters %v, fields %v, include deleted %v: want none", q.Filters, q.Fields, q.IncludeDeleted)
	}
	if len(q.Sort) != 1 || q.Sort[0] != (Sort{Field: "last_modified", Desc: true}) {
		t.Errorf("sort = %v, want [-last_modified]", q.Sort)
	}
}

func TestLimit(t *testing.T) {
	tests := []struct {
		query      string
		paginateBy int
		maxFetch   int
		want       int
	}{
		{"", 0, 0, 10000},
		{"", 25, 0, 25},
		{"", 25, 10, 10},
		{"_limit=1", 0, 0, 1},
		{"_limit=5", 2, 0, 2},
		{"_limit=5", 0, 3, 3},
		{"_limit=100000", 0, 0, 10000},
		{"_limit=9223372036854775808", 0, 0, 10000},
		{`_limit="3"`, 0, 0, 3},
		{`_limit=1_000`, 0, 0, 1000},
		{`_limit=1.9`, 0, 0, 1},
		{`_limit=1e3`, 0, 0, 1000},
		{`_limit=true`, 0, 0, 1},
		// Falsy limits mean the maximum, even with paginate_by.
		{`_limit=0`, 25, 0, 10000},
		{`_limit=`, 25, 0, 10000},
		{`_limit=null`, 25, 0, 10000},
		{`_limit=-0.5`, 25, 0, 10000},
		{`_limit=false`, 0, 0, 10000},
	}
	for _, tt := range tests {
		q := mustParse(t, tt.query, Options{PaginateBy: tt.paginateBy, MaxFetch: tt.maxFetch})
		if q.Limit != tt.want {
			t.Errorf("%q (paginate_by %d, max %d): limit = %d, want %d", tt.query, tt.paginateBy, tt.maxFetch, q.Limit, tt.want)
		}
	}
}

func TestSinceBefore(t *testing.T) {
	objs := mustDecodeAll(t,
		`{"id":"a","last_modified":100}`,
		`{"id":"b","last_modified":200}`,
		`{"id":"c","last_modified":300,"deleted":true}`,
	)
	tests := []struct {
		query string
		want  []string
		to    bool
		hint  int64
	}{
		{query: "_since=100", want: []string{"c", "b"}, hint: 100},
		{query: `_since="100"`, want: []string{"c", "b"}, hint: 100}, // transcript 24
		{query: `_since=100.9`, want: []string{"c", "b"}, hint: 100},
		{query: "_since=null", want: []string{"c", "b", "a"}},
		{query: "_before=200", want: []string{"a"}},
		{query: `_before="200"`, want: []string{"a"}},
		{query: "_before=null", want: []string{}},
		{query: "_to=300", want: []string{"b", "a"}, to: true},
		{query: "_since=100&_before=300", want: []string{"b"}, hint: 100},
		{query: "gt_last_modified=100", want: []string{"c", "b"}, hint: 100},
		{query: `gt_last_modified="100"`, want: []string{"c", "b"}, hint: 100},
		{query: `min_last_modified=200`, want: []string{"c", "b"}, hint: 199},
		{query: `last_modified=200`, want: []string{"b"}, hint: 199},
		{query: `not_last_modified=200`, want: []string{"c", "a"}},
		{query: `_since=0`, want: []string{"c", "b", "a"}},
	}
	for _, tt := range tests {
		q := mustParse(t, tt.query, Options{})
		if !q.IncludeDeleted {
			t.Errorf("%s: IncludeDeleted = false", tt.query)
		}
		if got := ids(list(q, objs)); !slices.Equal(got, tt.want) {
			t.Errorf("%s: ids = %q, want %q", tt.query, got, tt.want)
		}
		if q.DeprecatedTo != tt.to {
			t.Errorf("%s: DeprecatedTo = %v", tt.query, q.DeprecatedTo)
		}
		if h := q.SinceHint(); h != tt.hint {
			t.Errorf("%s: SinceHint = %d, want %d", tt.query, h, tt.hint)
		}
	}
}

func TestTimestampWindow(t *testing.T) {
	opts := Options{Now: 1000}
	tomorrow := "86401000"
	if _, err := Parse(mustValues(t, "_since=86400999"), opts); err != nil {
		t.Errorf("_since just before now+24h: %v", err)
	}
	_, err := Parse(mustValues(t, "_since="+tomorrow), opts)
	if qe, ok := err.(*Error); !ok || qe.Description != "Invalid value for _since" {
		t.Errorf("_since at now+24h: err = %v", err)
	}
}
