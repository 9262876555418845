package kinto

import (
	"reflect"
	"testing"
)

func TestChangesParamsParse(t *testing.T) {
	tests := []struct {
		raw  string
		want Params
	}{
		{"", nil},
		{"a=1&b=2", Params{{"a", "1"}, {"b", "2"}}},
		// WebOb splits on ";" too, skips empty pairs, reads "+" as a space.
		{"a=1;b=2&&c", Params{{"a", "1"}, {"b", "2"}, {"c", ""}}},
		{"q=a+b%2Bc", Params{{"q", "a b+c"}}},
		// Malformed escapes stay as they are.
		{"x=%zz%4", Params{{"x", "%zz%4"}}},
		{"_since=%2242%22", Params{{"_since", `"42"`}}},
		{"k=%22a=b%22", Params{{"k", `"a=b"`}}},
	}
	for _, tt := range tests {
		if got := ParseParams(tt.raw); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseParams(%q) = %v, want %v", tt.raw, got, tt.want)
		}
	}
}

func TestChangesParamsRedirectOrder(t *testing.T) {
	ps := ParseParams(`_expected=%2242%22&bucket=main&_since=1&_since=2`)
	if v, _ := ps.Get("_since"); v != "2" {
		t.Fatalf("get returns %q, want the last value", v)
	}
	// MultiDict's __setitem__ moves the key to the end; urlencode keeps
	// the order.
	if got := ps.With("_expected", "42").Encode(); got != "bucket=main&_since=1&_since=2&_expected=42" {
		t.Fatalf("with = %s", got)
	}
	if got := ps.Without("_since").Encode(); got != "_expected=%2242%22&bucket=main" {
		t.Fatalf("without = %s", got)
	}
	if got := (Params{{"a b", "é/&"}}).Encode(); got != "a+b=%C3%A9%2F%26" {
		t.Fatalf("encode = %s", got)
	}
}
