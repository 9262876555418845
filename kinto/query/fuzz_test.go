package query

import (
	"encoding/json"
	"net/url"
	"testing"
)

// FuzzParse checks that no query string makes Parse, or the query it
// returns, panic, and that errors are well formed.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		"", "_since=abc", `_since="1500"`, "_limit=1&_sort=-n,title", "in_id=a,b&exclude_n=1,2",
		`contains_tags=["a",1]&contains_any_x=[]`, "like_title=a*b&has_n=false", "_fields=a.b,c",
		"_token=" + url.QueryEscape(kintoToken), "id=5&last_modified=abc&_limit={}", "n=1&n=2&_sort=a&_sort=b",
		"gt_last_modified=%22123%22", "_before=null&_to=1", `_limit=1e30&_since=[1,"a"]`, "like_x=(", "%00=1",
	} {
		f.Add(seed)
	}
	objs := mustDecodeAll(f, append(pageObjects, objR1, objR4, objR5, objR6, objR7)...)
	f.Fuzz(func(t *testing.T, raw string) {
		values, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := Parse(values, Options{Now: testNow, PaginateBy: 3, Strict: func(root string) bool { return root != "secret" }})
		if err != nil {
			qe, ok := err.(*Error)
			if !ok || qe.Description == "" || qe.Location == "" {
				t.Fatalf("Parse(%q): bad error %#v", raw, err)
			}
			if _, err := json.Marshal(qe); err != nil {
				t.Fatalf("Parse(%q): error does not marshal: %v", raw, err)
			}
			return
		}
		// A falsy _limit means MaxFetch even with PaginateBy, as in Kinto.
		if q.Limit <= 0 || q.Limit > 3 && q.Limit != DefaultMaxFetch {
			t.Fatalf("Parse(%q): limit %d", raw, q.Limit)
		}
		found := list(q, objs)
		for _, o := range found {
			q.Project(o)
		}
		q.SinceHint()
		q.DefaultOrder()
		if len(found) > 0 {
			token := q.NextPageToken(found[len(found)-1], q.Offset+len(found))
			values.Set("_token", token)
			if _, err := Parse(values, Options{Now: testNow}); err != nil {
				t.Fatalf("Parse(%q) with its own next token: %v", raw, err)
			}
		}
	})
}
