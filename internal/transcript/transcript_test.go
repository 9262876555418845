package transcript

import (
	"net/http"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	in := `# comment
### [1] one
PUT /v1/x as user
Content-Type: application/json

{"a":
 1}
--> 201
ETag: "{ts:x}"
!Cache-Control

{"id":"x",
"last_modified":{ts:x}}

### [2] two
GET /v1/x
--> 304


`
	got, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Exchange{
		{Title: "[1] one", Line: 2, Method: "PUT", Path: "/v1/x", User: "user",
			Header: []Header{{"Content-Type", "application/json"}}, Body: "{\"a\":\n 1}",
			Status: 201, Expect: []Header{{"ETag", `"{ts:x}"`}}, Absent: []string{"Cache-Control"},
			ExpectBody: "{\"id\":\"x\",\n\"last_modified\":{ts:x}}"},
		{Title: "[2] two", Line: 15, Method: "GET", Path: "/v1/x", Status: 304},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %#v\nwant %#v", got, want)
	}
}

func TestParseErrors(t *testing.T) {
	for _, in := range []string{
		"### a\nGET /x\n",
		"### a\nGET /x by user\n--> 200\n",
		"### a\nGET /x\n--> two\n",
		"### a\nGET /x\nNoColon\n--> 200\n",
	} {
		if _, err := Parse(strings.NewReader(in)); err == nil {
			t.Errorf("Parse(%q) accepted", in)
		}
	}
}

func TestMatch(t *testing.T) {
	vars := map[string]string{"who": "basicauth:1"}
	if err := Match(`{"w":"{var:who}","t":{ts:a},"u":{ts:a},"id":"{uuid:id}"}{any}`,
		`{"w":"basicauth:1","t":17,"u":17,"id":"3c90d278-d106-404c-a9e1-b5400f6f69aa"} tail`, vars); err != nil {
		t.Fatal(err)
	}
	if vars["a"] != "17" || vars["id"] != "3c90d278-d106-404c-a9e1-b5400f6f69aa" {
		t.Fatalf("bindings %v", vars)
	}
	for _, c := range []struct{ want, got string }{
		{`{ts:a}`, `18`},         // bound earlier to 17
		{`{ts:b},{ts:b}`, `1,2`}, // one name, two values
		{`{uuid:c}`, `3c90d278-d106-104c-a9e1-b5400f6f69aa`}, // not version 4
		{`x{date}`, `xSun, 22 Nov 2026 03:35:42 UTC`},
		{`{var:nobody}`, ``},
		{`abc`, `abcd`},
	} {
		if err := Match(c.want, c.got, vars); err == nil {
			t.Errorf("Match(%q, %q) accepted", c.want, c.got)
		}
	}
	if _, ok := vars["b"]; ok {
		t.Fatal("a failed match bound a name")
	}
	if got, err := Expand("/r?_since={ts:a}", vars); err != nil || got != "/r?_since=17" {
		t.Fatalf("Expand: %q, %v", got, err)
	}
	if _, err := Expand("{ts:unbound}", vars); err == nil {
		t.Fatal("Expand of an unbound name succeeded")
	}
}

func TestReplayerReportsMismatch(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"5"`)
		w.Header().Set("Cache-Control", "no-cache")
		w.WriteHeader(200)
		_, _ = w.Write([]byte(`{"user":"` + r.Header.Get("Authorization") + `"}`))
	})
	p := &Replayer{Base: "http://h", Vars: map[string]string{}, Do: HandlerDo(h)}
	ok := Exchange{Method: "GET", Path: "/", User: "u", Status: 200,
		Expect: []Header{{"ETag", `"{ts:e}"`}}, ExpectBody: `{"user":"Basic dTpwYXNz"}`}
	if err := p.Check(ok); err != nil || p.Vars["e"] != "5" {
		t.Fatalf("Check: %v, vars %v", err, p.Vars)
	}
	for _, bad := range []Exchange{
		{Method: "GET", Path: "/", Status: 201, ExpectBody: "{any}"},
		{Method: "GET", Path: "/", Status: 200, Absent: []string{"Cache-Control"}, ExpectBody: "{any}"},
		{Method: "GET", Path: "/", Status: 200, Expect: []Header{{"Pragma", "x"}}, ExpectBody: "{any}"},
		{Method: "GET", Path: "/", Status: 200, Expect: []Header{{"ETag", `"6"`}}, ExpectBody: "{any}"},
	} {
		if err := p.Check(bad); err == nil {
			t.Errorf("Check(%+v) accepted", bad)
		}
	}
}
