package changes

import (
	"testing"

	"github.com/changegate/changegate/kinto"
)

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
