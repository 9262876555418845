package query

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// writeJSON writes v as python-rapidjson's dumps does (compact, non-ASCII
// escaped). Numbers keep their JSON text; object keys are sorted, as a Go
// map has no order.
func writeJSON(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case string:
		writeJSONString(b, x)
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		b.WriteByte('{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, k)
			b.WriteByte(':')
			writeJSON(b, x[k])
		}
		b.WriteByte('}')
	default:
		writeJSONNumber(b, v)
	}
}

// writeJSONNumber writes a number, null for anything else.
func writeJSONNumber(b *strings.Builder, v any) {
	if s, ok := v.(interface{ String() string }); ok && isNumber(v) {
		b.WriteString(s.String())
		return
	}
	if n, ok := toNumber(v); ok {
		b.WriteString(n.repr())
		return
	}
	b.WriteString("null")
}

// writeJSONString writes s quoted the way rapidjson does with
// ensure_ascii: control and non-ASCII characters as \uXXXX (upper-case
// hex, surrogate pairs past the BMP).
func writeJSONString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r >= utf8.RuneSelf:
			writeUnicodeEscape(b, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}

// writeUnicodeEscape writes r as one or two \uXXXX escapes.
func writeUnicodeEscape(b *strings.Builder, r rune) {
	if r > 0xffff {
		r -= 0x10000
		writeUnicodeEscape(b, 0xd800+(r>>10))
		writeUnicodeEscape(b, 0xdc00+(r&0x3ff))
		return
	}
	b.WriteString(`\u` + strings.ToUpper(hex(int(r), 4)))
}
