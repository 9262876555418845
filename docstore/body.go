package docstore

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/changegate/changegate/kinto"
)

// payload is a validated object request body: {"data": {...},
// "permissions": {...}}. Data stays raw so the client's key order survives.
type payload struct {
	Data        json.RawMessage // nil when absent
	Permissions Permissions     // nil when absent
	// NullPermissions lists permissions set to null (merge-patch removal).
	NullPermissions []string
}

// parseJSON decodes body into v, turning syntax errors into Kinto's answer
// for invalid JSON (transcript 34: errno 107, location body, with the
// parser's offset).
func parseJSON(body []byte, v any) error {
	err := json.Unmarshal(body, v)
	if err == nil {
		return nil
	}
	var se *json.SyntaxError
	if errors.As(err, &se) || len(bytes.TrimSpace(body)) == 0 {
		return invalidJSON(se)
	}
	return notMapping("", body)
}

// notMapping is Colander's answer for a value that should be an object.
func notMapping(name string, raw []byte) *kinto.Error {
	desc := `"` + string(compactJSON(raw)) + `" is not a mapping type: Does not implement dict-like functionality.`
	return kinto.Invalid(kinto.ValidationDetail{Location: "body", Name: name, Description: desc, Nameless: name == ""})
}

// invalidJSON renders a JSON syntax error the way the reference server's
// parser words it.
func invalidJSON(se *json.SyntaxError) *kinto.Error {
	offset, reason := int64(0), "The document is empty."
	if se != nil {
		offset, reason = se.Offset, "Invalid value."
	}
	desc := fmt.Sprintf("Invalid JSON: Parse error at offset %d: %s", offset, reason)
	return kinto.Invalid(
		kinto.ValidationDetail{Location: "body", Description: desc},
		kinto.ValidationDetail{Location: "body", Description: "Required"},
	)
}

// parsePayload validates an object body. Unknown top-level keys are
// refused, as Kinto's schema does ("Unrecognized keys in mapping").
func parsePayload(body []byte) (*payload, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return &payload{}, nil
	}
	var top map[string]json.RawMessage
	if err := parseJSON(body, &top); err != nil {
		return nil, err
	}
	if top == nil {
		return nil, notMapping("", body)
	}
	if err := refuseUnknownKeys(top, "data", "permissions"); err != nil {
		return nil, err
	}
	p := &payload{}
	if raw, ok := top["data"]; ok && !isNull(raw) {
		if !isObject(raw) {
			return nil, notMapping("data", raw)
		}
		p.Data = compactJSON(raw)
	}
	if raw, ok := top["permissions"]; ok && !isNull(raw) {
		perms, nulls, err := parsePermissions(raw)
		if err != nil {
			return nil, err
		}
		p.Permissions, p.NullPermissions = perms, nulls
	}
	return p, nil
}

// refuseUnknownKeys answers Colander's "Unrecognized keys in mapping".
func refuseUnknownKeys(top map[string]json.RawMessage, known ...string) error {
	var unknown []string
	for k := range top {
		if !slices.Contains(known, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	quoted := make([]string, len(unknown))
	for i, k := range unknown {
		quoted[i] = "'" + k + "': " + string(compactJSON(top[k]))
	}
	desc := "Unrecognized keys in mapping: \"{" + strings.Join(quoted, ", ") + "}\""
	return kinto.Invalid(kinto.ValidationDetail{Location: "body", Description: desc, Nameless: true})
}

// parsePermissions validates {"perm": ["principal", ...]}; a null list
// (merge-patch) is reported apart.
func parsePermissions(raw json.RawMessage) (Permissions, []string, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil || m == nil {
		return nil, nil, notMapping("permissions", raw)
	}
	perms := Permissions{}
	var nulls []string
	for name, v := range m {
		if isNull(v) {
			nulls = append(nulls, name)
			continue
		}
		var principals []string
		if err := json.Unmarshal(v, &principals); err != nil {
			return nil, nil, kinto.Invalid(kinto.ValidationDetail{Location: "body", Name: "permissions." + name, Description: `"` + string(v) + `" is not iterable`})
		}
		perms[name] = principals
	}
	sort.Strings(nulls)
	return perms, nulls, nil
}

func isNull(raw json.RawMessage) bool { return string(bytes.TrimSpace(raw)) == "null" }

func isObject(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && t[0] == '{'
}

// compactJSON removes insignificant white space; raw is valid JSON.
func compactJSON(raw json.RawMessage) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return raw
	}
	return buf.Bytes()
}
