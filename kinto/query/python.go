package query

import (
	"encoding/json"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/changegate/changegate/kinto"
)

// pyTruthy is Python's truth value of a decoded JSON value.
func pyTruthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	if n, ok := toNumber(v); ok {
		return compareNumbers(n, number{}) != 0
	}
	return true
}

// pyInt is Python's int(v) on a decoded JSON value: ints as they are,
// floats truncated, booleans 0 or 1, strings parsed as int(str) does.
// Lists, dicts and None fail, as they raise TypeError.
func pyInt(v any) (*big.Int, bool) {
	switch x := v.(type) {
	case bool:
		if x {
			return big.NewInt(1), true
		}
		return big.NewInt(0), true
	case string:
		return kinto.PyInt(x)
	}
	if n, ok := toNumber(v); ok {
		return n.truncInt(), true
	}
	return nil, false
}

// odict is a JSON object decoded with its key order, for Python reprs.
type odict struct {
	keys []string
	vals map[string]any
}

// decodeOrdered decodes a JSON text keeping object key order, as Python
// dicts do (a repeated key keeps its first place and its last value).
func decodeOrdered(s string) (any, bool) {
	if _, ok := decodeRapid(s); !ok {
		return nil, false
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	v, err := readOrdered(dec)
	return v, err == nil
}

// readOrdered reads the next JSON value from dec.
func readOrdered(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('['):
		list := []any{}
		for dec.More() {
			v, err := readOrdered(dec)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		_, err = dec.Token()
		return list, err
	case json.Delim('{'):
		return readOrderedObject(dec)
	}
	return tok, nil
}

// readOrderedObject reads the members of an object whose '{' was read.
func readOrderedObject(dec *json.Decoder) (any, error) {
	d := &odict{vals: map[string]any{}}
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := k.(string)
		v, err := readOrdered(dec)
		if err != nil {
			return nil, err
		}
		if _, seen := d.vals[key]; !seen {
			d.keys = append(d.keys, key)
		}
		d.vals[key] = v
	}
	_, err := dec.Token()
	return d, err
}

// pyStr is Python's str() of a decoded value.
func pyStr(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return pyRepr(v)
}

// PyRepr is Python's repr() of a decoded JSON value (strings, numbers,
// lists, objects), as Kinto's error messages quote values.
func PyRepr(v any) string { return pyRepr(v) }

// pyRepr is Python's repr() of a decoded value.
func pyRepr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return pyStrRepr(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = pyRepr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case *odict:
		parts := make([]string, len(x.keys))
		for i, k := range x.keys {
			parts[i] = pyStrRepr(k) + ": " + pyRepr(x.vals[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return pyRepr(&odict{keys: keys, vals: x})
	}
	if n, ok := toNumber(v); ok {
		return n.repr()
	}
	return "None"
}

// repr is Python's repr() of a number.
func (n number) repr() string {
	switch n.kind {
	case numInt:
		return strconv.FormatInt(n.i, 10)
	case numUint:
		return strconv.FormatUint(n.u, 10)
	}
	return pyFloatRepr(n.f)
}

// pyFloatRepr is Python's repr() of a float: the shortest round-tripping
// digits, positional between 1e-4 and 1e16, else in exponent form.
func pyFloatRepr(f float64) string {
	if f == 0 {
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64)
	sign := ""
	if e[0] == '-' {
		sign, e = "-", e[1:]
	}
	mant, expText, _ := strings.Cut(e, "e")
	digits := strings.Replace(mant, ".", "", 1)
	exp, _ := strconv.Atoi(expText)
	decpt := exp + 1
	if decpt > -4 && decpt <= 16 {
		return sign + positional(digits, decpt)
	}
	out := digits[:1]
	if len(digits) > 1 {
		out += "." + digits[1:]
	}
	expSign := "+"
	if exp < 0 {
		expSign, exp = "-", -exp
	}
	return sign + out + "e" + expSign + pad2(exp)
}

// positional writes digits with the decimal point decpt places in.
func positional(digits string, decpt int) string {
	switch {
	case decpt <= 0:
		return "0." + strings.Repeat("0", -decpt) + digits
	case decpt >= len(digits):
		return digits + strings.Repeat("0", decpt-len(digits)) + ".0"
	}
	return digits[:decpt] + "." + digits[decpt:]
}

// pad2 formats n with at least two digits.
func pad2(n int) string {
	s := strconv.Itoa(n)
	if len(s) < 2 {
		s = "0" + s
	}
	return s
}

// pyStrRepr is Python's repr() of a str.
func pyStrRepr(s string) string {
	quote := '\''
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		quote = '"'
	}
	var b strings.Builder
	b.WriteRune(quote)
	for _, r := range s {
		writeReprRune(&b, r, quote)
	}
	b.WriteRune(quote)
	return b.String()
}

// writeReprRune writes one character of a str repr.
func writeReprRune(b *strings.Builder, r, quote rune) {
	switch {
	case r == quote || r == '\\':
		b.WriteByte('\\')
		b.WriteRune(r)
	case r == '\t':
		b.WriteString(`\t`)
	case r == '\n':
		b.WriteString(`\n`)
	case r == '\r':
		b.WriteString(`\r`)
	case r < ' ' || r == 0x7f:
		b.WriteString(`\x` + hex(int(r), 2))
	case r < 0x7f || unicode.IsPrint(r):
		b.WriteRune(r)
	case r <= 0xff:
		b.WriteString(`\x` + hex(int(r), 2))
	case r <= 0xffff:
		b.WriteString(`\u` + hex(int(r), 4))
	default:
		b.WriteString(`\U` + hex(int(r), 8))
	}
}

// hex formats n in lower-case hexadecimal on width digits.
func hex(n, width int) string {
	s := strconv.FormatInt(int64(n), 16)
	return strings.Repeat("0", max(0, width-len(s))) + s
}
