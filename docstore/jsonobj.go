package docstore

import (
	"encoding/json"
	"reflect"

	"github.com/changegate/changegate/kinto"
	"github.com/tidwall/gjson"
)

// member is one key of a JSON object, value kept raw.
type member struct {
	key string
	val json.RawMessage
}

// members returns the members of a JSON object in document order; raw is
// valid JSON.
func members(raw []byte) []member {
	var ms []member
	gjson.ParseBytes(raw).ForEach(func(k, v gjson.Result) bool {
		ms = append(ms, member{key: k.String(), val: json.RawMessage(v.Raw)})
		return true
	})
	return ms
}

// buildObject renders members as a compact JSON object.
func buildObject(ms []member) []byte {
	size := 2
	for _, m := range ms {
		size += len(m.key) + len(m.val) + 4
	}
	out := make([]byte, 0, size)
	out = append(out, '{')
	for i, m := range ms {
		if i > 0 {
			out = append(out, ',')
		}
		out = kinto.AppendJSONString(out, m.key)
		out = append(out, ':')
		out = append(out, m.val...)
	}
	return append(out, '}')
}

// setMember replaces key's value in place, or appends it.
func setMember(ms []member, key string, val []byte) []member {
	for i := range ms {
		if ms[i].key == key {
			ms[i].val = val
			return ms
		}
	}
	return append(ms, member{key: key, val: val})
}

// deleteMember removes key.
func deleteMember(ms []member, key string) []member {
	out := ms[:0]
	for _, m := range ms {
		if m.key != key {
			out = append(out, m)
		}
	}
	return out
}

// findMember returns key's raw value, or nil.
func findMember(ms []member, key string) json.RawMessage {
	for _, m := range ms {
		if m.key == key {
			return m.val
		}
	}
	return nil
}

// mergeObject applies patch's members to dst. With rfc7396 (JSON Merge
// Patch) a null removes the member and objects merge recursively; without
// it members are replaced one level deep, as Kinto's plain PATCH does.
func mergeObject(dst, patch []byte, rfc7396 bool) []byte {
	ms := members(dst)
	for _, p := range members(patch) {
		switch {
		case rfc7396 && isNull(p.val):
			ms = deleteMember(ms, p.key)
			continue
		case rfc7396 && isObject(p.val):
			base := findMember(ms, p.key)
			if !isObject(base) {
				base = json.RawMessage("{}")
			}
			p.val = mergeObject(base, p.val, true)
		}
		ms = setMember(ms, p.key, p.val)
	}
	return buildObject(ms)
}

// sameJSON reports whether two JSON values are equal as values.
func sameJSON(a, b []byte) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}
