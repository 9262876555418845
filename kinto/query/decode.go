package query

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

// Decode decodes a stored object (or tombstone) into the form Match,
// Compare, SortObjects and Project read: numbers stay json.Number.
func Decode(data []byte) (map[string]any, error) {
	v, err := decodeJSON(data)
	if err != nil {
		return nil, fmt.Errorf("decoding object: %w", err)
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("decoding object: not a JSON object")
	}
	return obj, nil
}

// decodeJSON decodes one JSON document, nothing but whitespace after it.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("data after the JSON document")
	}
	return v, nil
}

// nativeValue is Kinto's native_value for a query string value: the JSON
// decoding of s when s is a JSON document that python-rapidjson accepts,
// else s itself.
func nativeValue(s string) any {
	v, ok := decodeRapid(s)
	if !ok {
		return s
	}
	return v
}

// decodeRapid decodes s as python-rapidjson does in native number mode. On
// top of encoding/json, rapidjson rejects escaped lone surrogates and
// numbers that overflow a double (encoding/json would keep both).
func decodeRapid(s string) (any, bool) {
	v, err := decodeJSON([]byte(s))
	if err != nil || hasLoneSurrogate(s) || !numbersFit(v) {
		return nil, false
	}
	return v, true
}

// numbersFit reports whether every number in v fits a double, as
// rapidjson requires ("Number too big to be stored in double").
func numbersFit(v any) bool {
	switch x := v.(type) {
	case json.Number:
		_, ok := parseNumber(string(x))
		return ok
	case []any:
		for _, e := range x {
			if !numbersFit(e) {
				return false
			}
		}
	case map[string]any:
		for _, e := range x {
			if !numbersFit(e) {
				return false
			}
		}
	}
	return true
}

// hasLoneSurrogate reports whether the (valid) JSON text s escapes a UTF-16
// surrogate that is not part of a pair.
func hasLoneSurrogate(s string) bool {
	if !strings.Contains(s, `\u`) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			continue
		}
		i++
		if i >= len(s) || s[i] != 'u' {
			continue
		}
		r := escapedUnit(s, i+1)
		switch {
		case r >= 0xDC00 && r <= 0xDFFF:
			return true
		case r >= 0xD800 && r <= 0xDBFF:
			if i+6 >= len(s) || s[i+5] != '\\' || s[i+6] != 'u' {
				return true
			}
			low := escapedUnit(s, i+7)
			if low < 0xDC00 || low > 0xDFFF {
				return true
			}
			i += 10
		default:
			i += 4
		}
	}
	return false
}

// escapedUnit reads the four hex digits of a \u escape at s[i:].
func escapedUnit(s string, i int) int {
	if i+4 > len(s) {
		return -1
	}
	n, err := strconv.ParseUint(s[i:i+4], 16, 16)
	if err != nil {
		return -1
	}
	return int(n)
}

// isFloatLiteral reports whether a JSON number literal is a float for
// Python (it has a fraction or an exponent).
func isFloatLiteral(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '.' || c == 'e' || c == 'E' {
			return true
		}
	}
	return false
}

// checkFloat rejects the infinities ParseFloat returns on overflow.
func checkFloat(f float64) bool {
	return !math.IsInf(f, 0) && !math.IsNaN(f)
}
