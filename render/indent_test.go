package render

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/tidwall/gjson"
)

// indentCorpus are JSON texts whose indentation must equal json.Indent's.
var indentCorpus = []string{
	`{}`, `[]`, `{ }`, `[ ]`, `"s"`, `12`, ` -1.5e3 `, `true`, `null`, " \n{\"a\":1}\n\n",
	`{"a":1,"b":[1,2,{"c":null}],"d":{},"e":[],"f":"x,y:{}[]\"\\"}`,
	`[[[]],[{}],[[1]]]`, `{"a" : [ 1 , 2 ] , "b" :{ "c" :"d" }}`, "{\"u\":\"\u2028 é \\u00e9\"}",
	`[true,false,null,-0,1e-7,"\\\"",""]`, `{"":""}`, `[{"a":[{"b":[{"c":[]}]}]}]`,
}

func TestAppendIndentMatchesJSONIndent(t *testing.T) {
	for _, s := range append(indentCorpus, string(benchDoc)) {
		checkIndent(t, []byte(s))
	}
}

// FuzzAppendIndent holds appendIndent to json.Indent on every valid
// input: go test -fuzz FuzzAppendIndent ./render
func FuzzAppendIndent(f *testing.F) {
	for _, s := range indentCorpus {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		if gjson.ValidBytes(src) {
			checkIndent(t, src)
		}
	})
}

func checkIndent(t *testing.T, src []byte) {
	t.Helper()
	var want bytes.Buffer
	if err := json.Indent(&want, src, "", "    "); err != nil {
		t.Fatalf("json.Indent(%q): %v", src, err)
	}
	if got := appendIndent(nil, src); !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("appendIndent(%q)\n got %q\nwant %q", src, got, want.Bytes())
	}
}

func TestAppendIndentDeep(t *testing.T) {
	deep := bytes.Repeat([]byte("["), 40)
	deep = append(append(deep, '1'), bytes.Repeat([]byte("]"), 40)...)
	checkIndent(t, deep)
}
