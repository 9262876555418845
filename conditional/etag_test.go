package conditional

import (
	"reflect"
	"testing"
)

func TestParseList(t *testing.T) {
	tests := []struct {
		in   string
		want List
	}{
		{``, List{}},
		{`*`, List{Any: true}},
		{` * `, List{Any: true}},
		{`"a"`, List{Tags: []Tag{{Opaque: `"a"`}}}},
		{`W/"a"`, List{Tags: []Tag{{Weak: true, Opaque: `"a"`}}}},
		{`"a", W/"b",,"c"`, List{Tags: []Tag{{Opaque: `"a"`}, {Weak: true, Opaque: `"b"`}, {Opaque: `"c"`}}}},
		// A quoted comma belongs to the tag.
		{`"a,b", "c"`, List{Tags: []Tag{{Opaque: `"a,b"`}, {Opaque: `"c"`}}}},
		{`""`, List{Tags: []Tag{{Opaque: `""`}}}},
		// Parsing stops at the first malformed member (as net/http does).
		{`"a", b, "c"`, List{Tags: []Tag{{Opaque: `"a"`}}}},
		{`abc`, List{}},
		{`"unterminated`, List{}},
		{`w/"lowercase-w"`, List{}},
		{`"sp ace"`, List{}},
	}
	for _, tt := range tests {
		if got := ParseList(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseList(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

// TestComparison is RFC 9110 §8.8.3.2, Table 3.
func TestComparison(t *testing.T) {
	tests := []struct {
		a, b         string
		strong, weak bool
	}{
		{`W/"1"`, `W/"1"`, false, true},
		{`W/"1"`, `W/"2"`, false, false},
		{`W/"1"`, `"1"`, false, true},
		{`"1"`, `"1"`, true, true},
		{`"1"`, `"2"`, false, false},
	}
	for _, tt := range tests {
		a, _ := ParseTag(tt.a)
		b, _ := ParseTag(tt.b)
		if got := StrongMatch(a, b); got != tt.strong {
			t.Errorf("StrongMatch(%s, %s) = %v", tt.a, tt.b, got)
		}
		if got := WeakMatch(a, b); got != tt.weak {
			t.Errorf("WeakMatch(%s, %s) = %v", tt.a, tt.b, got)
		}
	}
}

func TestStripEncodings(t *testing.T) {
	tests := []struct {
		in, want string
		changed  bool
	}{
		{`"123-gzip"`, `"123"`, true},
		{`"123-zstd", "abc-br"`, `"123", "abc"`, true},
		{`"a", "b-gzip"`, `"a", "b"`, true},
		// encode never suffixes weak tags: a weak tag's suffix is the
		// upstream's own.
		{`W/"123-gzip"`, `W/"123-gzip"`, false},
		{`"123"`, `"123"`, false},
		{`*`, `*`, false},
		{`"-gzip"`, `"-gzip"`, false},
		{`"x-deflate"`, `"x-deflate"`, false},
	}
	for _, tt := range tests {
		got, _, changed := StripEncodings(tt.in)
		if got != tt.want || changed != tt.changed {
			t.Errorf("StripEncodings(%q) = %q, %v; want %q, %v", tt.in, got, changed, tt.want, tt.changed)
		}
	}
}

func TestKintoETag(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{`"1795318542496-gzip"`, `"1795318542496"`, true},
		{`"1795318542496-zstd"`, `"1795318542496"`, true},
		{`"1795318542496-br"`, `"1795318542496"`, true},
		{`"1795318542496"`, `"1795318542496"`, false},
		{`"abc-gzip"`, `"abc-gzip"`, false},
		{`W/"12-gzip"`, `W/"12-gzip"`, false},
		{``, ``, false},
	}
	for _, tt := range tests {
		got, ok := KintoETag(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("KintoETag(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestBodyETag(t *testing.T) {
	a := BodyETag([]byte(`{"a":1}`))
	if len(a) != 18 || a[0] != '"' || a[17] != '"' {
		t.Fatalf("BodyETag = %s, want 16 hex digits in quotes", a)
	}
	if _, ok := ParseTag(a); !ok {
		t.Fatalf("BodyETag %s is not an entity-tag", a)
	}
	if a != BodyETag([]byte(`{"a":1}`)) || a == BodyETag([]byte(`{"a":2}`)) {
		t.Fatal("BodyETag must change exactly when the bytes do")
	}
	// xxh64 of the empty input, a published test vector.
	if got := BodyETag(nil); got != `"ef46db3751d8e999"` {
		t.Fatalf("BodyETag(empty) = %s", got)
	}
}
