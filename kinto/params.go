package kinto

import (
	"net/url"
	"strings"
	"unicode/utf8"
)

// Params is a query string as WebOb parses it for Kinto and its
// plugins: pairs in their order, keys repeated as sent. The redirects
// rebuild URLs from it in the same order as the reference server, and
// lookups return the last value as WebOb's MultiDict.get does.
type Params []Param

// Param is one key=value pair.
type Param struct{ Key, Value string }

// ParseParams splits a raw query string as WebOb's parse_qsl_text: on "&"
// and ";", "+" as a space, lenient percent-decoding (a malformed escape
// stays as it is), empty pairs skipped, a missing "=" giving an empty
// value. Invalid UTF-8 is replaced rather than refused.
func ParseParams(raw string) Params {
	var out Params
	for _, part := range strings.FieldsFunc(raw, func(r rune) bool { return r == '&' || r == ';' }) {
		k, v, _ := strings.Cut(strings.ReplaceAll(part, "+", " "), "=")
		out = append(out, Param{Key: unquote(k), Value: unquote(v)})
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

// Get returns the last value of key, as MultiDict.get.
func (ps Params) Get(key string) (string, bool) {
	for i := len(ps) - 1; i >= 0; i-- {
		if ps[i].Key == key {
			return ps[i].Value, true
		}
	}
	return "", false
}

// All returns every value of key, in order.
func (ps Params) All(key string) []string {
	var out []string
	for _, p := range ps {
		if p.Key == key {
			out = append(out, p.Value)
		}
	}
	return out
}

// Without returns the pairs whose key is not key (MultiDict's del).
func (ps Params) Without(key string) Params {
	out := make(Params, 0, len(ps))
	for _, p := range ps {
		if p.Key != key {
			out = append(out, p)
		}
	}
	return out
}

// With replaces every value of key by one pair at the end, as
// MultiDict's __setitem__ does.
func (ps Params) With(key, value string) Params {
	return append(ps.Without(key), Param{Key: key, Value: value})
}

// Values converts to url.Values for the list query parser.
func (ps Params) Values() url.Values {
	v := make(url.Values, len(ps))
	for _, p := range ps {
		v[p.Key] = append(v[p.Key], p.Value)
	}
	return v
}

// Encode renders the pairs in order as Python's urlencode (quote_plus
// escapes the same bytes as url.QueryEscape).
func (ps Params) Encode() string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(p.Key))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(p.Value))
	}
	return b.String()
}
