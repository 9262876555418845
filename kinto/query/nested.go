package query

import "strings"

// missingValue is the type of missing, Kinto's MISSING: what a field
// lookup yields when the object has no such field.
type missingValue struct{}

// missing stands for an absent field. It sorts after every JSON value.
var missing any = missingValue{}

// isMissing reports whether v is the missing sentinel.
func isMissing(v any) bool {
	_, ok := v.(missingValue)
	return ok
}

// lookup returns the value at a dotted path in obj, or missing. As Kinto's
// find_nested_value, a key holding the whole path wins; otherwise the
// longest leading part of the path that is a key is taken as the root, and
// the rest is looked up in its value, which must be an object (keys may
// themselves contain dots).
func lookup(obj map[string]any, path string) any {
	if v, ok := obj[path]; ok {
		return v
	}
	if !strings.Contains(path, ".") {
		return missing
	}
	for end := len(path) - 1; end >= 0; end-- {
		if path[end] != '.' {
			continue
		}
		v, ok := obj[path[:end]]
		if !ok {
			continue
		}
		sub, isObj := v.(map[string]any)
		if !isObj {
			return missing
		}
		return lookup(sub, path[end+1:])
	}
	return missing
}
