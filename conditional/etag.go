// Package conditional implements HTTP validators and conditional
// requests (RFC 9110 §8.8 and §13) for responses from any upstream: it
// keeps or computes ETags, evaluates preconditions in the order RFC 9110
// §13.2.2 requires, answers 304 and 412, requires preconditions on
// writes (428, RFC 6585 §3) and copes with Caddy's encode, which appends
// "-gzip" and the like to strong ETags.
package conditional

import (
	"strings"
)

// Tag is one entity-tag (RFC 9110 §8.8.3).
type Tag struct {
	Weak bool
	// Opaque is the opaque-tag with its double quotes: `"abc"`.
	Opaque string
}

// String renders the tag as it goes in a header.
func (t Tag) String() string {
	if t.Weak {
		return "W/" + t.Opaque
	}
	return t.Opaque
}

// ParseTag parses one entity-tag; ok is false when s is not exactly one.
func ParseTag(s string) (Tag, bool) {
	t, rest, ok := scanTag(s)
	return t, ok && rest == ""
}

// List is a parsed If-Match or If-None-Match value.
type List struct {
	// Any is "*".
	Any bool
	// Tags are the entity-tags read before the end of the value or the
	// first malformed member.
	Tags []Tag
}

// ParseList parses an If-Match or If-None-Match field value: "*" or a
// comma-separated list of entity-tags (quoted strings may hold commas).
// As Go's net/http does, parsing stops at the first malformed member;
// the tags read before it count.
func ParseList(v string) List {
	var l List
	for {
		v = strings.TrimLeft(v, " \t,")
		if v == "" {
			return l
		}
		if v[0] == '*' {
			l.Any = true
			return l
		}
		t, rest, ok := scanTag(v)
		if !ok {
			return l
		}
		l.Tags = append(l.Tags, t)
		v = rest
	}
}

// scanTag reads one entity-tag at the start of s: [W/] DQUOTE *etagc
// DQUOTE, etagc being %x21 / %x23-7E / obs-text.
func scanTag(s string) (Tag, string, bool) {
	var t Tag
	if strings.HasPrefix(s, "W/") {
		t.Weak, s = true, s[2:]
	}
	if len(s) < 2 || s[0] != '"' {
		return t, s, false
	}
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"':
			t.Opaque = s[:i+1]
			return t, s[i+1:], true
		case c == 0x21 || (c >= 0x23 && c <= 0x7E) || c >= 0x80:
		default:
			return t, s, false
		}
	}
	return t, s, false
}

// StrongMatch is RFC 9110 §8.8.3.2's strong comparison: both tags strong
// and their opaque-tags equal octet by octet.
func StrongMatch(a, b Tag) bool {
	return !a.Weak && !b.Weak && a.Opaque == b.Opaque
}

// WeakMatch is the weak comparison: the opaque-tags are equal, weak or
// not.
func WeakMatch(a, b Tag) bool { return a.Opaque == b.Opaque }

// encodings are the content codings Caddy's encode names in the suffix
// it appends to strong ETags (encode.go: `"x"` becomes `"x-gzip"`).
var encodings = []string{"gzip", "zstd", "br"}

// StripEncoding removes an encode suffix from a strong tag's opaque-tag:
// `"x-gzip"` becomes `"x"`. It reports the coding it removed, or "".
func StripEncoding(t Tag) (Tag, string) {
	if t.Weak {
		return t, ""
	}
	for _, enc := range encodings {
		o := t.Opaque
		if len(o) > len(enc)+3 && strings.HasSuffix(o, enc+`"`) && o[len(o)-len(enc)-2] == '-' {
			t.Opaque = o[:len(o)-len(enc)-2] + `"`
			return t, enc
		}
	}
	return t, ""
}

// mayHaveSuffix is the cheap test before parsing a header to strip.
func mayHaveSuffix(v string) bool {
	return strings.Contains(v, `-gzip"`) || strings.Contains(v, `-zstd"`) || strings.Contains(v, `-br"`)
}

// StripEncodings rewrites an If-Match / If-None-Match value without the
// encode suffixes of its strong members (weak ones are never suffixed).
// changed is false, and v returned as it is, when there was none.
func StripEncodings(v string) (out string, stripped []Tag, changed bool) {
	if !mayHaveSuffix(v) {
		return v, nil, false
	}
	l := ParseList(v)
	if l.Any {
		return v, nil, false
	}
	parts := make([]string, len(l.Tags))
	for i, t := range l.Tags {
		s, enc := StripEncoding(t)
		if enc != "" {
			stripped = append(stripped, t)
			changed = true
		}
		parts[i] = s.String()
	}
	if !changed {
		return v, nil, false
	}
	return strings.Join(parts, ", "), stripped, true
}

// KintoETag restores a Kinto ETag that went through encode: `"123-gzip"`
// becomes `"123"`, since Kinto clients parse the ETag as the integer
// timestamp. Other tags are returned unchanged, with false.
func KintoETag(etag string) (string, bool) {
	t, ok := ParseTag(etag)
	if !ok {
		return etag, false
	}
	s, enc := StripEncoding(t)
	if enc == "" || !quotedInteger(s.Opaque) {
		return etag, false
	}
	return s.Opaque, true
}

// quotedInteger reports whether opaque is `"<digits>"`.
func quotedInteger(opaque string) bool {
	if len(opaque) < 3 {
		return false
	}
	for i := 1; i < len(opaque)-1; i++ {
		if opaque[i] < '0' || opaque[i] > '9' {
			return false
		}
	}
	return true
}
