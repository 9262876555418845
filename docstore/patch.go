package docstore

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/changegate/changegate/kinto"
	jsonpatch "github.com/evanphx/json-patch/v5"
)

// patchObject answers PATCH: a plain merge (application/json), a JSON
// Merge Patch (RFC 7396) or a JSON Patch (RFC 6902, which kinto.js uses to
// edit permissions). Response-Behavior picks full, light or diff bodies.
func (h *Handler) patchObject(o *op, c *call) (*response, error) {
	req, r := c.request, c.r
	behavior, err := responseBehavior(req.header)
	if err != nil {
		return nil, err
	}
	if err := o.mustExist(c); err != nil {
		return nil, err
	}
	existing := c.existing
	var data, changes json.RawMessage
	var perms Permissions
	if mediaType(req.header) == "application/json-patch+json" {
		data, perms, changes, err = applyJSONPatch(existing, req.body)
	} else {
		data, perms, changes, err = applyMerge(existing, req.body, mediaType(req.header) == "application/merge-patch+json")
	}
	if err != nil {
		return nil, err
	}
	// JSON Patch copy and move can nest a document deeper than the body
	// that asked for it.
	if jsonDepthExceeds(data, h.cfg.MaxDepth-1) {
		return nil, h.tooDeep()
	}
	if err := h.checkClientTimestamp(existing, changes); err != nil {
		return nil, err
	}
	if err := checkKnownPermissions(r.Kind, perms); err != nil {
		return nil, err
	}
	obj, err := o.save(r, data, perms, req.principal())
	if err != nil {
		return nil, err
	}
	resp, err := objectResponse(http.StatusOK, obj, c.id)
	if err != nil || behavior == "full" {
		return resp, err
	}
	resp.body = behaviorBody(behavior, existing.Data, obj, changes)
	return resp, nil
}

// responseBehavior validates the Response-Behavior header.
func responseBehavior(hd http.Header) (string, error) {
	b := strings.ToLower(hd.Get("Response-Behavior"))
	switch b {
	case "":
		return "full", nil
	case "full", "light", "diff":
		return b, nil
	}
	return "", kinto.Invalid(kinto.ValidationDetail{Location: "header", Name: "Response-Behavior",
		Description: `"` + hd.Get("Response-Behavior") + `" is not one of full, light, diff`})
}

// applyMerge applies a {"data", "permissions"} PATCH body. It returns the
// new data, the new permissions and the requested data changes.
func applyMerge(existing *Object, body []byte, rfc7396 bool) (json.RawMessage, Permissions, json.RawMessage, error) {
	p, err := parsePayload(body)
	if err != nil {
		return nil, nil, nil, err
	}
	if p.Data == nil && p.Permissions == nil && p.NullPermissions == nil {
		return nil, nil, nil, kinto.Invalid(kinto.ValidationDetail{Location: "body", Name: "data",
			Description: "Provide at least one of data or permissions"})
	}
	data := existing.Data
	changes := p.Data
	if changes != nil {
		data = mergeObject(existing.Data, changes, rfc7396)
	}
	perms := existing.Permissions.clone()
	perms.replace(p.Permissions)
	if rfc7396 {
		for _, name := range p.NullPermissions {
			delete(perms, name)
		}
	}
	return data, perms, changes, nil
}

// applyJSONPatch applies RFC 6902 operations to {"data": ..., "permissions":
// {perm: {principal: principal}}}. Like Kinto, permission paths such as
// /permissions/read/system.Everyone need no value: the principal is the
// last path segment.
func applyJSONPatch(existing *Object, body []byte) (json.RawMessage, Permissions, json.RawMessage, error) {
	var ops []map[string]any
	if err := parseJSON(body, &ops); err != nil {
		return nil, nil, nil, err
	}
	if err := checkPatchOperations(ops); err != nil {
		return nil, nil, nil, err
	}
	for _, op := range ops {
		path, _ := op["path"].(string)
		if strings.HasPrefix(path, "/permissions/read/") || strings.HasPrefix(path, "/permissions/write/") {
			op["value"] = path[strings.LastIndex(path, "/")+1:]
		}
	}
	doc, err := patchDocument(existing)
	if err != nil {
		return nil, nil, nil, err
	}
	opsJSON, _ := json.Marshal(ops)
	patch, err := jsonpatch.DecodePatch(opsJSON)
	if err == nil {
		doc, err = patch.Apply(doc)
	}
	if err != nil {
		return nil, nil, nil, kinto.Invalid(kinto.ValidationDetail{Location: "body", Description: "JSON Patch operation failed: " + err.Error(), Nameless: true})
	}
	var out struct {
		Data        json.RawMessage           `json:"data"`
		Permissions map[string]map[string]any `json:"permissions"`
	}
	if err := json.Unmarshal(doc, &out); err != nil || !isObject(out.Data) {
		return nil, nil, nil, kinto.Invalid(kinto.ValidationDetail{Location: "body", Name: "data", Description: "JSON Patch must leave data an object"})
	}
	perms := Permissions{}
	for name, set := range out.Permissions {
		for principal := range set {
			perms[name] = append(perms[name], principal)
		}
		perms[name] = normalizePrincipals(perms[name])
	}
	return out.Data, perms, out.Data, nil
}

// patchOps are the operations Kinto's JSON Patch schema accepts, in the
// order its error message lists them.
var patchOps = []string{"test", "add", "remove", "replace", "move", "copy"}

// patchPath is Kinto's path rule (a Python re.match, anchored at the
// start only).
var patchPath = regexp.MustCompile(`^(/\w*)+`)

// checkPatchOperations validates each operation as Kinto's colander
// schema does, naming the failing member by its index ("0.op").
func checkPatchOperations(ops []map[string]any) error {
	var details []kinto.ValidationDetail
	for i, op := range ops {
		at := strconv.Itoa(i) + "."
		switch v, ok := op["op"]; {
		case !ok:
			details = append(details, kinto.ValidationDetail{Location: "body", Name: at + "op", Description: "Required"})
		case !slices.Contains(patchOps, fmt.Sprint(v)):
			details = append(details, kinto.ValidationDetail{Location: "body", Name: at + "op",
				Description: `"` + fmt.Sprint(v) + `" is not one of ` + strings.Join(patchOps, ", ")})
		}
		for _, name := range []string{"path", "from"} {
			v, ok := op[name]
			switch {
			case !ok && name == "path":
				details = append(details, kinto.ValidationDetail{Location: "body", Name: at + name, Description: "Required"})
			case ok && !patchPath.MatchString(fmt.Sprint(v)):
				details = append(details, kinto.ValidationDetail{Location: "body", Name: at + name, Description: "String does not match expected pattern"})
			}
		}
	}
	if details != nil {
		return kinto.Invalid(details...)
	}
	return nil
}

// patchDocument builds the document JSON Patch operations apply to.
func patchDocument(obj *Object) ([]byte, error) {
	sets := map[string]map[string]string{"read": {}, "write": {}}
	for name, principals := range obj.Permissions {
		sets[name] = map[string]string{}
		for _, p := range principals {
			sets[name][p] = p
		}
	}
	return json.Marshal(map[string]any{"data": obj.Data, "permissions": sets})
}

// behaviorBody renders the light (changed fields) or diff (fields that
// differ from what was sent) PATCH response.
func behaviorBody(behavior string, old json.RawMessage, obj *Object, changes json.RawMessage) []byte {
	oldMs, newMs := members(old), members(obj.Data)
	var out []member
	for _, c := range members(changes) {
		nv := findMember(newMs, c.key)
		if nv == nil || sameJSON(findMember(oldMs, c.key), nv) {
			continue
		}
		if behavior == "diff" && sameJSON(c.val, nv) {
			continue
		}
		out = append(out, member{key: c.key, val: nv})
	}
	perms, _ := json.Marshal(obj.Permissions.orEmpty())
	return buildObject([]member{{key: "permissions", val: perms}, {key: "data", val: buildObject(out)}})
}
