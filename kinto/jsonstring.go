package kinto

import (
	"unicode/utf8"
)

// One rule for writing a JSON string, in the three spellings Kinto uses:
//
//   - AppendJSONString, the wire form of Kinto's bodies: UTF-8 kept as it
//     is, <, > and & left alone (the reference encoder does not escape
//     them), control characters as \u00xx;
//   - AppendJSONStringASCII, rapidjson's ensure_ascii form used inside
//     pagination tokens: everything outside printable ASCII escaped, the
//     usual short escapes, upper-case hex, surrogate pairs past the BMP;
//   - AppendPythonJSONString, Python's json.dumps default (WebOb's JSON
//     error and redirect pages): the same with lower-case hex.
//
// Both escape U+2028 and U+2029: they are valid in JSON but end a line in
// pre-ES2019 JavaScript string literals, so a body wrapped as JSONP or
// pasted into a script would break (and Go's encoding/json escapes them
// for the same reason). Invalid UTF-8 becomes U+FFFD, as encoding/json
// does, so the output is always valid JSON.

// AppendJSONString appends s quoted as a JSON string to b.
func AppendJSONString(b []byte, s string) []byte {
	return appendJSONString(b, s, "")
}

// AppendJSONStringASCII appends s quoted as a JSON string in pure ASCII,
// rapidjson's spelling.
func AppendJSONStringASCII(b []byte, s string) []byte {
	return appendJSONString(b, s, upperHex)
}

// AppendPythonJSONString appends s quoted as a JSON string in pure ASCII,
// Python json's spelling.
func AppendPythonJSONString(b []byte, s string) []byte {
	return appendJSONString(b, s, lowerHex)
}

// appendJSONString writes the wire form when asciiHex is empty, else the
// ensure_ascii form with those hex digits.
func appendJSONString(b []byte, s string, asciiHex string) []byte {
	ascii := asciiHex != ""
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\' {
			b = append(b, c)
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = appendASCIIEscape(b, c, asciiHex)
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case ascii:
			b = appendUnicodeEscape(b, r, asciiHex)
		case r == utf8.RuneError && size == 1:
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = appendUnicodeEscape(b, r, lowerHex)
		default:
			b = append(b, s[i:i+size]...)
		}
		i += size
	}
	return append(b, '"')
}

const (
	lowerHex = "0123456789abcdef"
	upperHex = "0123456789ABCDEF"
)

// appendASCIIEscape escapes a quote, a backslash or a control character.
func appendASCIIEscape(b []byte, c byte, asciiHex string) []byte {
	if c == '"' || c == '\\' {
		return append(b, '\\', c)
	}
	if asciiHex != "" {
		switch c {
		case '\b':
			return append(b, '\\', 'b')
		case '\f':
			return append(b, '\\', 'f')
		case '\n':
			return append(b, '\\', 'n')
		case '\r':
			return append(b, '\\', 'r')
		case '\t':
			return append(b, '\\', 't')
		}
		return appendUnicodeEscape(b, rune(c), asciiHex)
	}
	return appendUnicodeEscape(b, rune(c), lowerHex)
}

// appendUnicodeEscape writes r as one \uXXXX escape, or a surrogate pair
// past the BMP.
func appendUnicodeEscape(b []byte, r rune, hex string) []byte {
	if r > 0xffff {
		r -= 0x10000
		b = appendUnicodeEscape(b, 0xd800+(r>>10), hex)
		return appendUnicodeEscape(b, 0xdc00+(r&0x3ff), hex)
	}
	return append(b, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
}
