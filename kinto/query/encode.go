package query

import (
	"strconv"
	"strings"

	"github.com/changegate/changegate/kinto"
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
// ensure_ascii (kinto.AppendJSONStringASCII).
func writeJSONString(b *strings.Builder, s string) {
	var buf [64]byte
	b.Write(kinto.AppendJSONStringASCII(buf[:0], s))
}
