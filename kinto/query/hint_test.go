package query

import (
	"net/url"
	"testing"
)

func TestReadsOnly(t *testing.T) {
	for q, want := range map[string]bool{
		"":                        true,
		"_since=5&_limit=100":     true,
		"in_id=a,b&_sort=id":      true,
		"gt_last_modified=3":      true,
		"title=x":                 false,
		"_sort=title":             false,
		"_fields=title":           false,
		"_fields=id":              true,
		"has_deleted=true":        true,
		"contains_any_tags=[1,2]": false,
		"meta.size=3&_since=1":    false,
	} {
		values, _ := url.ParseQuery(q)
		parsed, err := Parse(values, Options{})
		if err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if got := parsed.ReadsOnly("id", "last_modified", "deleted"); got != want {
			t.Errorf("ReadsOnly for %q = %v, want %v", q, got, want)
		}
	}
}
