package query

import (
	"encoding/json"
	"math/big"
	"net/url"
	"sort"
	"strings"
)

// maxInteger is the upper bound of Kinto's positive_big_integer range
// (2**63, inclusive).
var maxInteger = new(big.Int).Lsh(big.NewInt(1), 63)

// param is one query string parameter as Cornice hands it to the schema:
// its string, or the list of its strings when the key is repeated
// (webob's MultiDict.mixed()).
type param struct {
	key      string
	value    string
	list     []string
	repeated bool
}

// collect turns url.Values into params, sorted by key (url.Values has lost
// the query string's order, which Kinto follows).
func collect(v url.Values) []param {
	keys := make([]string, 0, len(v))
	for k, vs := range v {
		if len(vs) > 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	params := make([]param, len(keys))
	for i, k := range keys {
		vs := v[k]
		params[i] = param{key: k, value: vs[0]}
		if len(vs) > 1 {
			params[i] = param{key: k, list: vs, repeated: true}
		}
	}
	return params
}

// native is Kinto's native_value of the parameter: a repeated parameter
// stays a list of strings, a single one is JSON decoded if it can be.
func (p param) native() any {
	if p.repeated {
		return stringList(p.list)
	}
	return nativeValue(p.value)
}

// shown is the native value as Python prints it in colander's messages
// (objects keep their key order there).
func (p param) shown() string {
	if p.repeated {
		return pyStr(stringList(p.list))
	}
	if v, ok := decodeOrdered(p.value); ok {
		return pyStr(v)
	}
	return p.value
}

// fieldList is colander's FieldList: the comma separated items (or the
// repeated values, unsplit), empty items dropped.
func (p param) fieldList() []any {
	items := p.list
	if !p.repeated {
		items = strings.Split(p.value, ",")
	}
	out := []any{}
	for _, s := range items {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}

// stringList converts strings into a decoded JSON list.
func stringList(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// Kinto's PluralGetQuerySchema: the parameters the schema validates, by
// their colander type.
var (
	integerParams = map[string]bool{"_limit": true, "_since": true, "_to": true, "_before": true, "last_modified": true}
	stringParams  = map[string]bool{"_token": true, "id": true}
	listParams    = map[string]bool{"_sort": true, "_fields": true}
)

// validateSchema runs the schema over params. It returns the values of the
// schema parameters that were not dropped (colander's null), or every
// error at once, as colander collects them.
func validateSchema(params []param) (map[string]any, error) {
	out := map[string]any{}
	var errs []*Error
	for _, p := range params {
		var v any
		var dropped bool
		var err *Error
		switch {
		case integerParams[p.key]:
			v, dropped, err = validateInteger(p)
		case stringParams[p.key]:
			v, dropped, err = validateString(p)
		case listParams[p.key]:
			v = p.fieldList()
		default:
			continue
		}
		if err != nil {
			errs = append(errs, err)
		} else if !dropped {
			out[p.key] = v
		}
	}
	if len(errs) > 0 {
		return nil, joinErrors(errs)
	}
	return out, nil
}

// colanderNull reports whether colander's Number type takes v for null
// (`cstruct != 0 and not cstruct`): None, "", [] and {} are, 0 and False
// are not.
func colanderNull(v any) bool {
	if _, ok := asNumeric(v); ok {
		return false
	}
	return !pyTruthy(v)
}

// validateInteger is colander's Integer with Kinto's 0..2**63 range: the
// value goes through Python's int(), so floats are truncated, booleans are
// 0 and 1 and strings such as "12" or "1_000" are parsed.
func validateInteger(p param) (v any, dropped bool, err *Error) {
	n := p.native()
	if colanderNull(n) {
		return nil, true, nil
	}
	i, ok := pyInt(n)
	if !ok {
		return nil, false, invalid(p.key, `"`+p.shown()+`" is not a number`)
	}
	if i.Sign() < 0 {
		return nil, false, invalid(p.key, i.String()+" is less than minimum value 0")
	}
	if i.Cmp(maxInteger) > 0 {
		return nil, false, invalid(p.key, i.String()+" is greater than maximum value "+maxInteger.String())
	}
	return json.Number(i.String()), false, nil
}

// validateString is colander's String: falsy values are dropped, other
// non-strings rejected with colander's odd message, which embeds the
// printed form of an empty error dict.
func validateString(p param) (v any, dropped bool, err *Error) {
	n := p.native()
	if !pyTruthy(n) {
		return nil, true, nil
	}
	if s, ok := n.(string); ok {
		return s, false, nil
	}
	desc := p.shown() + " is not a string: {" + pyStrRepr(p.key) + ": ''}"
	return nil, false, invalid(p.key, desc)
}

// decodeValues builds Kinto's validated querystring: every parameter
// decoded by QuerySchema.deserialize (contains_* wrapped in a list, in_*
// and exclude_* split on commas then decoded item by item, the others
// decoded as a whole), then the schema's values on top.
func decodeValues(params []param, schema map[string]any) map[string]any {
	out := make(map[string]any, len(params))
	for _, p := range params {
		switch {
		case strings.HasPrefix(p.key, "contains_"):
			v := p.native()
			if _, ok := v.([]any); !ok {
				v = []any{v}
			}
			out[p.key] = v
		case strings.HasPrefix(p.key, "in_"), strings.HasPrefix(p.key, "exclude_"):
			items := p.fieldList()
			for i, s := range items {
				items[i] = nativeValue(s.(string))
			}
			out[p.key] = items
		default:
			out[p.key] = p.native()
		}
	}
	for k, v := range schema {
		out[k] = v
	}
	return out
}
