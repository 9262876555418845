package query

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// noncePrefix starts the nonce of every token Kinto issues.
const noncePrefix = "pagination-token-"

// errTokenContent is Kinto's answer to a _token it cannot read.
func errTokenContent() *Error {
	return nameless("_token has invalid content")
}

// parseToken reads _token, a base64 JSON object
// {"last_object": {...}, "offset": n, "nonce": "..."}, into the offset,
// the nonce and the pagination rules.
func (q *Query) parseToken(values map[string]any) error {
	token, _ := values["_token"].(string)
	if token == "" {
		return nil
	}
	info, ok := decodeToken(token)
	if !ok {
		return errTokenContent()
	}
	last, ok := info["last_object"].(map[string]any)
	if !ok {
		return errTokenContent()
	}
	offset, ok := tokenOffset(info["offset"])
	if !ok {
		return errTokenContent()
	}
	nonce, ok := info["nonce"]
	if !ok {
		return errTokenContent()
	}
	q.Offset = offset
	q.Nonce, _ = nonce.(string)
	q.rules = paginationRules(q.Sort, last)
	return nil
}

// tokenOffset reads the token's offset. Kinto takes any value and only
// fails (with a 500) when adding to it; here it must be an integer.
func tokenOffset(v any) (int, bool) {
	n, ok := v.(json.Number)
	if !ok || isFloatLiteral(string(n)) {
		return 0, false
	}
	i, err := strconv.Atoi(string(n))
	return i, err == nil
}

// decodeToken decodes a token to its JSON object, as Kinto's decode64
// then json.loads do.
func decodeToken(token string) (map[string]any, bool) {
	raw, ok := pyB64Decode(token)
	if !ok || !utf8.Valid(raw) {
		return nil, false
	}
	v, ok := decodeRapid(string(raw))
	if !ok {
		return nil, false
	}
	info, ok := v.(map[string]any)
	return info, ok
}

// TokenNonce returns the nonce of a token built by NextPageToken (or by
// Kinto), "" if it has none. For DELETE, Kinto remembers the nonce of the
// token it issues and refuses a token whose nonce it does not know (see
// ErrTokenReused); that cache is the caller's.
func TokenNonce(token string) string {
	info, ok := decodeToken(token)
	if !ok {
		return ""
	}
	nonce, _ := info["nonce"].(string)
	return nonce
}

// pyB64Decode is Python's base64.b64decode without validation (CPython
// 3.11/3.12's binascii.a2b_base64): characters outside the alphabet are
// skipped, a complete padding ends the data, and an unfinished quantum
// is an error.
func pyB64Decode(s string) ([]byte, bool) {
	out := make([]byte, 0, len(s)*3/4)
	quadPos, pads := 0, 0
	var left byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '=' {
			if quadPos >= 2 {
				pads++
				if quadPos+pads >= 4 {
					return out, true
				}
			}
			continue
		}
		v := strings.IndexByte(b64Alphabet, c)
		if v < 0 {
			continue
		}
		pads = 0
		out, left = b64Step(out, left, quadPos, byte(v))
		quadPos = (quadPos + 1) % 4
	}
	return out, quadPos == 0
}

// b64Alphabet is the standard base64 alphabet.
const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

// b64Step folds the six bits v at quantum position pos into out.
func b64Step(out []byte, left byte, pos int, v byte) ([]byte, byte) {
	switch pos {
	case 0:
		return out, v
	case 1:
		return append(out, left<<2|v>>4), v & 0x0f
	case 2:
		return append(out, left<<4|v>>2), v & 0x03
	}
	return append(out, left<<6|v), 0
}

// paginationRules is Kinto's _build_pagination_rules: the objects after
// last in the sort order are those that, for some i, equal last on the
// first i sort fields and come strictly after it on field i+1. Values are
// read from the token's last_object by full (dotted) field name.
func paginationRules(sorting []Sort, last map[string]any) [][]Filter {
	var rules [][]Filter
	for n := len(sorting); n > 0; n-- {
		rule := make([]Filter, 0, n)
		for _, s := range sorting[:n-1] {
			rule = append(rule, newFilter(s.Field, OpEq, tokenValue(last, s.Field)))
		}
		s := sorting[n-1]
		op := OpGt
		if s.Desc {
			op = OpLt
		}
		rules = append(rules, append(rule, newFilter(s.Field, op, tokenValue(last, s.Field))))
	}
	return rules
}

// tokenValue is last_object.get(field, MISSING).
func tokenValue(last map[string]any, field string) any {
	if v, ok := last[field]; ok {
		return v
	}
	return missing
}

// NextPageToken builds the _token of the page after last, the last object
// of the current page, as Kinto's _build_pagination_token: the base64 of
// {"last_object": {<sort field>: <its value in last>...}, "offset": offset,
// "nonce": "pagination-token-<uuid4>"}. Kinto's GET passes its token's
// offset plus the number of objects it fetched (the page and the one
// extra object that revealed a next page); its DELETE passes its token's
// offset unchanged.
func (q *Query) NextPageToken(last map[string]any, offset int) string {
	var b strings.Builder
	b.WriteString(`{"last_object":{`)
	seen := map[string]bool{}
	for _, s := range q.Sort {
		v := lookup(last, s.Field)
		if seen[s.Field] || isMissing(v) {
			continue
		}
		if len(seen) > 0 {
			b.WriteByte(',')
		}
		seen[s.Field] = true
		writeJSONString(&b, s.Field)
		b.WriteByte(':')
		writeJSON(&b, v)
	}
	fmt.Fprintf(&b, `},"offset":%d,"nonce":`, offset)
	writeJSONString(&b, noncePrefix+uuid4())
	b.WriteByte('}')
	return base64.StdEncoding.EncodeToString([]byte(b.String()))
}

// uuid4 returns a random UUID in its canonical text form.
func uuid4() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // crypto/rand.Read never fails
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}
