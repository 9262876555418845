package changes

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// params is a query string as WebOb parses it for Kinto: pairs in their
// order, keys repeated as sent. The redirects rebuild URLs from it in the
// same order as the reference server, and lookups return the last value
// as WebOb's MultiDict.get does.
type params []param

type param struct{ key, value string }

// parseParams splits a raw query string as WebOb's parse_qsl_text: on "&"
// and ";", "+" as a space, lenient percent-decoding (a malformed escape
// stays as it is), empty pairs skipped, a missing "=" giving an empty
// value. Invalid UTF-8 is replaced rather than refused.
func parseParams(raw string) params {
	var out params
	for _, part := range strings.FieldsFunc(raw, func(r rune) bool { return r == '&' || r == ';' }) {
		k, v, _ := strings.Cut(strings.ReplaceAll(part, "+", " "), "=")
		out = append(out, param{key: unquote(k), value: unquote(v)})
	}
	return out
}

// unquote decodes %XX escapes, leaving malformed ones as they are.
func unquote(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	return strings.ToValidUTF8(string(b), string(utf8.RuneError))
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c >= 'a':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// get returns the last value of key, as MultiDict.get.
func (ps params) get(key string) (string, bool) {
	for i := len(ps) - 1; i >= 0; i-- {
		if ps[i].key == key {
			return ps[i].value, true
		}
	}
	return "", false
}

// all returns every value of key, in order.
func (ps params) all(key string) []string {
	var out []string
	for _, p := range ps {
		if p.key == key {
			out = append(out, p.value)
		}
	}
	return out
}

// without returns the pairs whose key is not key (MultiDict's del).
func (ps params) without(key string) params {
	out := make(params, 0, len(ps))
	for _, p := range ps {
		if p.key != key {
			out = append(out, p)
		}
	}
	return out
}

// with replaces every value of key by one pair at the end, as
// MultiDict's __setitem__ does.
func (ps params) with(key, value string) params {
	return append(ps.without(key), param{key: key, value: value})
}

// values converts to url.Values for the list query parser.
func (ps params) values() url.Values {
	v := make(url.Values, len(ps))
	for _, p := range ps {
		v[p.key] = append(v[p.key], p.value)
	}
	return v
}

// encode renders the pairs in order as Python's urlencode (quote_plus
// escapes the same bytes as url.QueryEscape).
func (ps params) encode() string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(p.key))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(p.value))
	}
	return b.String()
}
