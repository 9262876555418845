package kinto

import (
	"math/big"
	"strings"
	"unicode"
)

// Kinto and its plugins parse parameters with Python's int() and strip
// names with str.strip(); these reproduce both where answers depend on
// them (which strings are numbers, which are refused).

// maxIntDigits is CPython's default limit on the digits int() converts
// (sys.int_info.default_max_str_digits); past it int() raises ValueError.
const maxIntDigits = 4300

// PyIsSpace is Python's str.isspace for one character: Unicode white
// space plus the ASCII separators \x1c-\x1f, which Python counts as space
// and Go does not.
func PyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || r >= 0x1c && r <= 0x1f
}

// PyStrip is Python's str.strip() with no argument.
func PyStrip(s string) string {
	return strings.TrimFunc(s, PyIsSpace)
}

// PyInt is Python's int(str) in base 10: surrounding white space, one
// sign, Unicode decimal digits with single underscores between them, at
// most maxIntDigits digits.
func PyInt(s string) (*big.Int, bool) {
	s = PyStrip(s)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	digits := make([]byte, 0, len(s)+1)
	if neg {
		digits = append(digits, '-')
	}
	afterDigit, count := false, 0
	for _, r := range s {
		if r == '_' {
			if !afterDigit {
				return nil, false
			}
			afterDigit = false
			continue
		}
		d, ok := DecimalValue(r)
		if !ok {
			return nil, false
		}
		digits = append(digits, byte('0'+d))
		afterDigit = true
		count++
	}
	if !afterDigit || count > maxIntDigits {
		return nil, false
	}
	return new(big.Int).SetString(string(digits), 10)
}

// DecimalValue returns the value of a Unicode decimal digit (category
// Nd). Unicode allocates those digits in contiguous runs of ten, from
// zero, so the value is the distance from the start of the run.
func DecimalValue(r rune) (int, bool) {
	if r >= '0' && r <= '9' {
		return int(r - '0'), true
	}
	if !unicode.Is(unicode.Nd, r) {
		return 0, false
	}
	start := r
	for unicode.Is(unicode.Nd, start-1) {
		start--
	}
	return int(r-start) % 10, true
}

// IsDecimal reports whether r is a Unicode decimal digit (Python's \d).
func IsDecimal(r rune) bool {
	_, ok := DecimalValue(r)
	return ok
}
