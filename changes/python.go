package changes

import (
	"math/big"
	"strings"
	"unicode"

	"github.com/changegate/changegate/docstore/query"
)

// The reference plugin parses its parameters with Python's int() and
// reports them with Python's repr(); these helpers reproduce both where
// the answers depend on them.

// maxIntDigits is Python's default int_max_str_digits: int() refuses
// longer digit strings.
const maxIntDigits = 4300

// pyInt is Python's int(s): surrounding whitespace, an optional sign,
// Unicode decimal digits with single underscores between them.
func pyInt(s string) (*big.Int, bool) {
	s = strings.TrimFunc(s, unicode.IsSpace)
	neg := false
	if s != "" && (s[0] == '+' || s[0] == '-') {
		neg = s[0] == '-'
		s = s[1:]
	}
	var digits []byte
	prevUnderscore := true // refuses a leading underscore
	for _, r := range s {
		switch {
		case r == '_' && !prevUnderscore:
			prevUnderscore = true
			continue
		case unicode.Is(unicode.Nd, r):
			digits = append(digits, byte('0'+decimalValue(r)))
			prevUnderscore = false
			continue
		}
		return nil, false
	}
	if len(digits) == 0 || prevUnderscore || len(digits) > maxIntDigits {
		return nil, false
	}
	n, _ := new(big.Int).SetString(string(digits), 10)
	if neg {
		n.Neg(n)
	}
	return n, true
}

// decimalValue is the value of a Unicode decimal digit. Unicode encodes
// decimal digits in contiguous runs of whole 0-9 sets, so the value is
// the distance from the start of the run, modulo ten.
func decimalValue(r rune) int {
	if r <= '9' {
		return int(r - '0')
	}
	start := r
	for unicode.Is(unicode.Nd, start-1) {
		start--
	}
	return int(r-start) % 10
}

// pyRepr is Python's repr() of a string (the query package's).
func pyRepr(s string) string { return query.PyRepr(s) }

// pyListRepr is Python's repr() of a list of strings.
func pyListRepr(items []string) string {
	list := make([]any, len(items))
	for i, s := range items {
		list[i] = s
	}
	return query.PyRepr(list)
}
