package query

import (
	"slices"
	"strings"
)

// extractFields is Kinto's _extract_partial_fields: the _fields items,
// then id and last_modified, which synchronisation needs. On a strict
// schema, unknown root fields are an error (which Kinto files under the
// "body" location).
func extractFields(values map[string]any, opts *Options) ([]string, error) {
	items, _ := values["_fields"].([]any)
	if len(items) == 0 {
		return nil, nil
	}
	fields := make([]string, 0, len(items)+2)
	var unknown []string
	for _, it := range items {
		f, _ := it.(string)
		fields = append(fields, f)
		if root, _, _ := strings.Cut(f, "."); !opts.known(root) && !slices.Contains(unknown, root) {
			unknown = append(unknown, root)
		}
	}
	if len(unknown) > 0 {
		// Kinto joins a Python set, whose order is arbitrary: sorted here.
		slices.Sort(unknown)
		return nil, &Error{Location: "body", Name: "Invalid _fields parameter",
			Description: "Fields " + strings.Join(unknown, ",") + " do not exist"}
	}
	return append(fields, idField, modifiedField), nil
}

// Project returns obj reduced to the query's fields, or obj itself when
// the query has no _fields.
func (q *Query) Project(obj map[string]any) map[string]any {
	if q.Fields == nil {
		return obj
	}
	return ProjectFields(obj, q.Fields)
}

// ProjectFields is Kinto's dict_subset: the listed fields of obj. A dotted
// field keeps the path down to its value ("a.b" gives {"a": {"b": ...}}),
// or the whole value of its first part when that is not an object; absent
// fields are left out. obj is not modified; the result shares its values.
func ProjectFields(obj map[string]any, fields []string) map[string]any {
	out := map[string]any{}
	for _, key := range fields {
		field, sub, dotted := strings.Cut(key, ".")
		v, ok := obj[field]
		if !dotted {
			if ok {
				out[key] = v
			}
			continue
		}
		if m, isObj := v.(map[string]any); isObj {
			prev, _ := out[field].(map[string]any)
			out[field] = merge(ProjectFields(m, []string{sub}), prev)
		} else if ok {
			out[field] = v
		}
	}
	return out
}

// merge is Kinto's dict_merge: a copy of b with a's entries on top, nested
// objects merged recursively.
func merge(a, b map[string]any) map[string]any {
	out := make(map[string]any, len(a)+len(b))
	for k, v := range b {
		out[k] = v
	}
	for k, v := range a {
		if m, ok := v.(map[string]any); ok {
			prev, _ := out[k].(map[string]any)
			v = merge(m, prev)
		}
		out[k] = v
	}
	return out
}
