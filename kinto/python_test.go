package kinto

import (
	"strings"
	"testing"
)

// TestPyInt holds the cases of both former parsers (the changes plugin's
// parameters and the query language's values): they now agree, and the
// \x1c-\x1f separators Python strips are stripped for both.
func TestPyInt(t *testing.T) {
	tests := []struct {
		in   string
		want string
	}{
		{"42", "42"}, {" 42\n", "42"}, {"+7", "7"}, {"-3", "-3"}, {"1_000", "1000"},
		{"٤٢", "42"}, {"𝟙𝟚", "12"}, {"0042", "42"}, {"-0", "0"},
		{"\x1c5\x1f", "5"}, {"\u00a012\u2003", "12"}, {"\u3000-4", "-4"},
		{strings.Repeat("9", 4300), strings.Repeat("9", 4300)},
		{strings.Repeat("9", 4301), ""},
		{"", ""}, {" ", ""}, {"+", ""}, {"_1", ""}, {"1_", ""}, {"1__0", ""}, {"-_1", ""},
		{"4.2", ""}, {"abc", ""}, {"- 1", ""}, {"1e3", ""}, {"0x10", ""}, {"\u200b1", ""},
	}
	for _, tt := range tests {
		got := ""
		if n, ok := PyInt(tt.in); ok {
			got = n.String()
		}
		if got != tt.want {
			t.Errorf("int(%q) = %.20q, want %.20q", tt.in, got, tt.want)
		}
	}
}

func TestPyStrip(t *testing.T) {
	if got := PyStrip("\x1d\t name \x1e\u0085"); got != "name" {
		t.Fatalf("strip = %q", got)
	}
}
