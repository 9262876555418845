package query

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestProject(t *testing.T) {
	obj := `{"id":"r1","last_modified":5,"title":"t","author":{"name":"n","age":3,"addr":{"city":"c","zip":"z"}},"tags":["a"],"a.b":1}`
	tests := []struct {
		fields string
		want   string // keys sorted, as encoding/json writes them
	}{
		{"title", `{"id":"r1","last_modified":5,"title":"t"}`},
		{"author.name", `{"author":{"name":"n"},"id":"r1","last_modified":5}`},
		{"author.name,author.addr.city", `{"author":{"addr":{"city":"c"},"name":"n"},"id":"r1","last_modified":5}`},
		{"author.addr.city,author.age", `{"author":{"addr":{"city":"c"},"age":3},"id":"r1","last_modified":5}`},
		{"author,author.name", `{"author":{"addr":{"city":"c","zip":"z"},"age":3,"name":"n"},"id":"r1","last_modified":5}`},
		{"author.name,author", `{"author":{"addr":{"city":"c","zip":"z"},"age":3,"name":"n"},"id":"r1","last_modified":5}`},
		// Not an object below: the whole value.
		{"tags.x", `{"id":"r1","last_modified":5,"tags":["a"]}`},
		// Unlike filters, projection never reads a key containing a dot.
		{"a.b", `{"id":"r1","last_modified":5}`},
		{"missing", `{"id":"r1","last_modified":5}`},
		{"author.missing", `{"author":{},"id":"r1","last_modified":5}`},
		// Items are not stripped.
		{"title, author", `{"id":"r1","last_modified":5,"title":"t"}`},
	}
	for _, tt := range tests {
		q := mustParse(t, "_fields="+tt.fields, Options{})
		in := mustDecode(t, obj)
		got, err := json.Marshal(q.Project(in))
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tt.want {
			t.Errorf("_fields=%s: %s, want %s", tt.fields, got, tt.want)
		}
		if again, _ := json.Marshal(in); string(again) != string(mustMarshal(t, mustDecode(t, obj))) {
			t.Errorf("_fields=%s modified the object: %s", tt.fields, again)
		}
	}
}

func TestProjectTombstone(t *testing.T) {
	// Kinto projects tombstones too, which loses "deleted".
	q := mustParse(t, "_fields=title&_since=1", Options{})
	got, _ := json.Marshal(q.Project(mustDecode(t, `{"id":"x","last_modified":9,"deleted":true}`)))
	if string(got) != `{"id":"x","last_modified":9}` {
		t.Errorf("projected tombstone = %s", got)
	}
}

func TestFieldsList(t *testing.T) {
	tests := []struct {
		query string
		want  []string
	}{
		{"", nil},
		{"_fields=", nil},
		{"_fields=,", nil},
		{"_fields=a,,b.c", []string{"a", "b.c", "id", "last_modified"}},
		{"_fields=id", []string{"id", "id", "last_modified"}},
		{"_fields=a&_fields=b,c", []string{"a", "b,c", "id", "last_modified"}},
	}
	for _, tt := range tests {
		q := mustParse(t, tt.query, Options{})
		if !slices.Equal(q.Fields, tt.want) {
			t.Errorf("%q: fields = %q, want %q", tt.query, q.Fields, tt.want)
		}
	}
	obj := mustDecode(t, `{"id":"a","last_modified":1,"x":2}`)
	if got := mustParse(t, "", Options{}).Project(obj); got["x"] == nil {
		t.Errorf("no _fields: Project = %v, want the object", got)
	}
}

// mustMarshal encodes v as JSON.
func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
