package changes

import (
	"testing"

	"github.com/changegate/changegate/kinto"
)

// TestChangesetQueryValidation mirrors the reference's
// test_timestamp_is_validated, test_expected_param_is_mandatory,
// test_limit_has_to_be_positive and test_extra_param_is_allowed, with the
// exact 400 bodies.
func TestChangesetQueryValidation(t *testing.T) {
	sinceErr := `{"location":"querystring","name":"_since","description":"The value should be integer, optionally between double quotes."}`
	tests := []struct {
		query string
		// body is the 400 body, "" when valid.
		body string
	}{
		{"_expected=42&_since=abc", `{"code":400,"errno":107,"error":"Invalid parameters","message":"_since in querystring: The value should be integer, optionally between double quotes.","details":[` + sinceErr + `]}`},
		{"_expected=42&_since=42", ""},
		{"_expected=42&_since=42%22", "400"},
		{"_expected=42&_since=%2242%22", ""},
		{`_expected=42&_since="42"%0A`, "400"},
		{"_expected=42&_since=42%0A", "400"},
		{`_expected=42&_since="9999999999999999999"`, `{"code":400,"errno":107,"error":"Invalid parameters","message":"_since in querystring: 9999999999999999999 is greater than maximum value 4102444800000","details":[{"location":"querystring","name":"_since","description":"9999999999999999999 is greater than maximum value 4102444800000"}]}`},
		{`_expected=42&_since="116137514678616060"`, "400"},
		{"_expected=42&_since=*)(!(objectClass=*)", "400"},
		{`_expected=42&_since="4102444800000"`, ""},
		{`_expected=42&_since="42"`, ""},
		{"_expected=42&_since=", ""},
		{"_expected=42&_since=%D9%A4%D9%A2", "400"}, // Arabic-Indic digits: the regex wants [0-9]
		{"", `{"code":400,"errno":107,"error":"Invalid parameters","message":"_expected in querystring: Required","details":[{"location":"querystring","name":"_expected","description":"Required"}]}`},
		{"_expected=", "400"},
		{"_expected=abc", ""},
		{"_expected=1&_expected=2", `{"code":400,"errno":107,"error":"Invalid parameters","message":"['1', '2'] is not a string: {'_expected': ''}","details":[{"location":"querystring","name":"_expected","description":"['1', '2'] is not a string: {'_expected': ''}"}]}`},
		{"_expected=42&_limit=1", ""},
		{"_expected=42&_limit=0", ""},
		{"_expected=42&_limit=", ""},
		{"_expected=42&_limit=-1", `{"code":400,"errno":107,"error":"Invalid parameters","message":"_limit in querystring: -1 is less than minimum value 0","details":[{"location":"querystring","name":"_limit","description":"-1 is less than minimum value 0"}]}`},
		{"_expected=42&_limit=36893488147419103232", `{"code":400,"errno":107,"error":"Invalid parameters","message":"_limit in querystring: 36893488147419103232 is greater than maximum value 9223372036854775808","details":[{"location":"querystring","name":"_limit","description":"36893488147419103232 is greater than maximum value 9223372036854775808"}]}`},
		{"_expected=42&_limit=9223372036854775808", ""},
		{"_expected=42&_limit=1.5", `{"code":400,"errno":107,"error":"Invalid parameters","message":"_limit in querystring: \"1.5\" is not a number","details":[{"location":"querystring","name":"_limit","description":"\"1.5\" is not a number"}]}`},
		{"_expected=42&_extra=abc", ""},
		{"_expected=42&bucket=main&collection=a", ""},
		{"_expected=42&bucket=a&bucket=b", "400"},
		// Every failure is listed in the schema's order; the message
		// names the one that sorts first.
		{"_since=x&_limit=x", `{"code":400,"errno":107,"error":"Invalid parameters","message":"_expected in querystring: Required","details":[` + sinceErr + `,{"location":"querystring","name":"_expected","description":"Required"},{"location":"querystring","name":"_limit","description":"\"x\" is not a number"}]}`},
	}
	for _, tt := range tests {
		_, err := parseChangesetQuery(kinto.ParseParams(tt.query))
		switch {
		case tt.body == "" && err != nil:
			t.Errorf("%s: unexpected error %v", tt.query, err)
		case tt.body == "":
		case err == nil:
			t.Errorf("%s: accepted, want 400", tt.query)
		case tt.body != "400":
			if got := string(err.(*kinto.Error).Body()); got != tt.body {
				t.Errorf("%s:\n got %s\nwant %s", tt.query, got, tt.body)
			}
		}
	}
}

func TestChangesetQueryValues(t *testing.T) {
	q, err := parseChangesetQuery(kinto.ParseParams(`_expected="58"&_since=%22007%22&_limit=1_0&bucket=b&collection=c`))
	if err != nil {
		t.Fatal(err)
	}
	want := changesetQuery{expected: `"58"`, since: 7, hasSince: true, limit: 10, hasLimit: true, bucket: "b", collection: "c"}
	if q != want {
		t.Fatalf("got %+v, want %+v", q, want)
	}
	cfg := DefaultConfig()
	for _, tt := range []struct {
		query      string
		paginateBy int
		want       int
	}{
		{"_expected=1", 0, 10000},
		{"_expected=1&_limit=42000", 0, 10000},
		{"_expected=1&_limit=5", 0, 5},
		{"_expected=1&_limit=0", 0, 0},
		{"_expected=1", 100, 100},
		{"_expected=1&_limit=500", 100, 100},
	} {
		q, _ := parseChangesetQuery(kinto.ParseParams(tt.query))
		cfg.PaginateBy = tt.paginateBy
		if got := cfg.boundLimit(q); got != tt.want {
			t.Errorf("%s (paginate_by %d): limit %d, want %d", tt.query, tt.paginateBy, got, tt.want)
		}
	}
}
