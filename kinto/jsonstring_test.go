package kinto

import (
	"encoding/json"
	"testing"
)

func TestAppendJSONString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", `"plain"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"<a&b>", `"<a&b>"`},
		{"é中😀", `"é中😀"`},
		{"tab\tnl\n\x01\x1f", `"tab\u0009nl\u000a\u0001\u001f"`},
		{"line\u2028para\u2029end", `"line\u2028para\u2029end"`},
		{"bad\xffbyte", `"bad\ufffdbyte"`},
	}
	for _, tt := range tests {
		got := string(AppendJSONString([]byte("x"), tt.in))
		if got != "x"+tt.want {
			t.Errorf("AppendJSONString(%q) = %s, want %s", tt.in, got[1:], tt.want)
		}
		var back string
		if err := json.Unmarshal([]byte(got[1:]), &back); err != nil {
			t.Errorf("%s is not valid JSON: %v", got[1:], err)
		}
	}
}

func TestAppendJSONStringASCII(t *testing.T) {
	tests := []struct{ in, want string }{
		{"plain", `"plain"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"\b\f\n\r\t\x01", `"\b\f\n\r\t\u0001"`},
		{"é", `"\u00E9"`},
		{"😀", `"\uD83D\uDE00"`},
		{"\u2028\u2029", `"\u2028\u2029"`},
		{"\xff", `"\uFFFD"`},
	}
	for _, tt := range tests {
		if got := string(AppendJSONStringASCII(nil, tt.in)); got != tt.want {
			t.Errorf("AppendJSONStringASCII(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
