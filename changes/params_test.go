package changes

import (
	"reflect"
	"testing"

	"github.com/changegate/changegate/kinto"
)

func TestChangesParamsParse(t *testing.T) {
	tests := []struct {
		raw  string
		want params
	}{
		{"", nil},
		{"a=1&b=2", params{{"a", "1"}, {"b", "2"}}},
		// WebOb splits on ";" too, skips empty pairs, reads "+" as a space.
		{"a=1;b=2&&c", params{{"a", "1"}, {"b", "2"}, {"c", ""}}},
		{"q=a+b%2Bc", params{{"q", "a b+c"}}},
		// Malformed escapes stay as they are.
		{"x=%zz%4", params{{"x", "%zz%4"}}},
		{"_since=%2242%22", params{{"_since", `"42"`}}},
		{"k=%22a=b%22", params{{"k", `"a=b"`}}},
	}
	for _, tt := range tests {
		if got := parseParams(tt.raw); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseParams(%q) = %v, want %v", tt.raw, got, tt.want)
		}
	}
}

func TestChangesParamsRedirectOrder(t *testing.T) {
	ps := parseParams(`_expected=%2242%22&bucket=main&_since=1&_since=2`)
	if v, _ := ps.get("_since"); v != "2" {
		t.Fatalf("get returns %q, want the last value", v)
	}
	// MultiDict's __setitem__ moves the key to the end; urlencode keeps
	// the order.
	if got := ps.with("_expected", "42").encode(); got != "bucket=main&_since=1&_since=2&_expected=42" {
		t.Fatalf("with = %s", got)
	}
	if got := ps.without("_since").encode(); got != "_expected=%2242%22&bucket=main" {
		t.Fatalf("without = %s", got)
	}
	if got := (params{{"a b", "é/&"}}).encode(); got != "a+b=%C3%A9%2F%26" {
		t.Fatalf("encode = %s", got)
	}
}

func TestChangesPythonInt(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"42", "42"}, {" 42\n", "42"}, {"+7", "7"}, {"-3", "-3"}, {"1_000", "1000"},
		{"٤٢", "42"}, {"𝟙𝟚", "12"}, {"0042", "42"},
		{"", ""}, {"_1", ""}, {"1_", ""}, {"1__0", ""}, {"4.2", ""}, {"abc", ""}, {"- 1", ""},
	}
	for _, tt := range tests {
		if got := pyIntString(tt.in); got != tt.want {
			t.Errorf("int(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestChangesPythonRepr(t *testing.T) {
	tests := map[string]string{
		"a":       "'a'",
		"it's":    `"it's"`,
		`"'`:      `'"\''`,
		"a\nb\\c": `'a\nb\\c'`,
		"\x01é":   `'\x01é'`,
	}
	for in, want := range tests {
		if got := pyRepr(in); got != want {
			t.Errorf("repr(%q) = %s, want %s", in, got, want)
		}
	}
	if got := pyListRepr([]string{"1", "2"}); got != "['1', '2']" {
		t.Errorf("list repr = %s", got)
	}
}

// pyIntString is str(int(s)), or "" when int() fails.
func pyIntString(s string) string {
	n, ok := kinto.PyInt(s)
	if !ok {
		return ""
	}
	return n.String()
}
