package render

// appendIndent appends src, which must be valid JSON, to dst indented
// exactly as json.Indent(dst, src, "", "    ") would: a newline and four
// spaces per level inside non-empty objects and arrays, ": " after keys,
// whitespace between tokens dropped, strings and literals copied as
// they are, leading whitespace dropped and trailing whitespace kept.
//
// It exists because json.Indent validates as it goes, byte by byte, and
// runs at about 100 MB/s here; validating with gjson first and then
// indenting with this loop is several times faster. The differential
// tests hold it to json.Indent's output.
func appendIndent(dst, src []byte) []byte {
	out, _ := appendIndentMax(dst, src, -1)
	return out
}

// appendIndentMax is appendIndent that gives up, returning false, as soon
// as the indented text would grow beyond limit bytes (no limit when
// negative). Indentation grows with depth times size: 18 KB of nested
// arrays indents to hundreds of megabytes, so the bound is checked before
// each newline is written and memory never exceeds it by more than one
// token.
func appendIndentMax(dst, src []byte, limit int) ([]byte, bool) {
	i := skipSpace(src, 0)
	if i == len(src) || (src[i] != '{' && src[i] != '[') {
		return append(dst, src[i:]...), true // a top-level scalar: as it is
	}
	if limit >= 0 {
		limit += len(dst)
	}
	fits := func(depth int) bool { return limit < 0 || len(dst)+1+4*depth <= limit }
	depth, open := 0, false // open: just after { or [, indent not yet written
	for ; i < len(src); i++ {
		c := src[i]
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		if open && c != '}' && c != ']' {
			open = false
			depth++
			if !fits(depth) {
				return dst, false
			}
			dst = newline(dst, depth)
		}
		switch c {
		case '"':
			end := stringEnd(src, i)
			dst = append(dst, src[i:end]...)
			i = end - 1
		case '{', '[':
			dst = append(dst, c)
			open = true
		case ',':
			if !fits(depth) {
				return dst, false
			}
			dst = append(dst, ',')
			dst = newline(dst, depth)
		case ':':
			dst = append(dst, ':', ' ')
		case '}', ']':
			if open {
				open = false
			} else {
				depth--
				if !fits(depth) {
					return dst, false
				}
				dst = newline(dst, depth)
			}
			dst = append(dst, c)
			if depth == 0 {
				return append(dst, src[i+1:]...), true
			}
		default:
			end := literalEnd(src, i)
			dst = append(dst, src[i:end]...)
			i = end - 1
		}
	}
	return dst, true
}

// newline appends a newline and depth levels of indentation.
func newline(dst []byte, depth int) []byte {
	if n := 1 + 4*depth; n <= len(newlineSpaces) {
		return append(dst, newlineSpaces[:n]...)
	}
	dst = append(dst, newlineSpaces...)
	for depth -= (len(newlineSpaces) - 1) / 4; depth > 0; depth-- {
		dst = append(dst, "    "...)
	}
	return dst
}

// newlineSpaces is a newline and 16 levels of indentation.
const newlineSpaces = "\n" + "                                                                "

// skipSpace returns the index of the first non-whitespace byte from i.
func skipSpace(src []byte, i int) int {
	for i < len(src) && (src[i] == ' ' || src[i] == '\t' || src[i] == '\n' || src[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index just after the string starting at i.
func stringEnd(src []byte, i int) int {
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return len(src)
}

// literalEnd returns the index just after the number, true, false or
// null starting at i.
func literalEnd(src []byte, i int) int {
	for j := i + 1; j < len(src); j++ {
		switch src[j] {
		case ',', '}', ']', ' ', '\t', '\n', '\r':
			return j
		}
	}
	return len(src)
}
