package query

import (
	"strconv"
	"strings"
)

// canonical returns a text that two values share exactly when Kinto's
// canonical_json (sorted-keys JSON) gives them the same text: unlike ==,
// it tells 1 from 1.0 and true from 1.
func canonical(v any) string {
	var b strings.Builder
	writeCanonical(&b, v)
	return b.String()
}

// writeCanonical appends the canonical form of v to b.
func writeCanonical(b *strings.Builder, v any) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case string:
		b.WriteString(strconv.Quote(x))
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCanonical(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		b.WriteByte('{')
		for i, k := range sortedKeys(x) {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(k) + ":")
			writeCanonical(b, x[k])
		}
		b.WriteByte('}')
	default:
		writeCanonicalNumber(b, v)
	}
}

// writeCanonicalNumber appends an int as its digits and a float in a form
// that no int has.
func writeCanonicalNumber(b *strings.Builder, v any) {
	n, ok := toNumber(v)
	switch {
	case !ok:
		b.WriteString("?")
	case n.isInt():
		b.WriteString(n.repr())
	default:
		b.WriteString("f" + strconv.FormatFloat(n.f, 'g', -1, 64))
	}
}
