package docstore

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"

	"github.com/tidwall/gjson"
)

// serveResource answers an object or list request inside o's transaction.
// The error is for failures that must abort the transaction; Kinto errors
// come back as responses.
func (h *Handler) serveResource(o *op, req *request, r ref) (*response, error) {
	resp, err := h.routeResource(o, req, r)
	if err != nil {
		if ke, ok := err.(*Error); ok {
			resp, err = errorResponse(ke), nil
		} else {
			return nil, err
		}
	}
	resp.expose = exposeFor(r, req.method)
	return resp, nil
}

// exposeFor picks the Access-Control-Expose-Headers list of an endpoint.
func exposeFor(r ref, method string) string {
	switch {
	case r.plural() && method == http.MethodHead:
		return exposePluralHead
	case r.plural() && method == http.MethodGet:
		return exposePluralRead
	case method == http.MethodGet || method == http.MethodHead:
		return exposeObjectRead
	}
	return exposeDefault
}

func (h *Handler) routeResource(o *op, req *request, r ref) (*response, error) {
	if resp := h.checkRequest(req, r); resp != nil {
		return resp, nil
	}
	prec, _ := parsePreconditions(req.header)
	if err := o.requireParents(r); err != nil {
		return nil, err
	}
	if r.plural() {
		switch req.method {
		case http.MethodPost:
			return h.createObject(o, req, r, prec)
		case http.MethodDelete:
			return h.deleteObjects(o, req, r, prec)
		}
		return h.listObjects(o, req, r, prec)
	}
	if !validID(r.ID) {
		return nil, Invalid(ValidationDetail{Location: "path", Description: "Invalid object id", Nameless: true})
	}
	switch req.method {
	case http.MethodPut:
		return h.putObject(o, req, r, prec)
	case http.MethodPatch:
		return h.patchObject(o, req, r, prec)
	case http.MethodDelete:
		return h.deleteObject(o, req, r, prec)
	}
	return h.getObject(o, req, r, prec)
}

// getObject answers GET/HEAD on an object.
func (h *Handler) getObject(o *op, req *request, r ref, prec preconditions) (*response, error) {
	obj, err := o.get(r)
	if err != nil {
		return nil, err
	}
	if obj == nil {
		return nil, notFound(r.Kind, r.ID)
	}
	if prec.notModified(obj.LastModified) {
		resp := newResponse(http.StatusNotModified, nil)
		resp.setTimestamp(obj.LastModified)
		return resp, nil
	}
	if err := o.checkPreconditions(r, prec, obj); err != nil {
		return nil, err
	}
	body, err := objectBody(obj, req.query["_fields"])
	if err != nil {
		return nil, err
	}
	resp := newResponse(http.StatusOK, body)
	resp.setTimestamp(obj.LastModified)
	resp.header.Set("Cache-Control", "no-cache, no-store")
	return resp, nil
}

// putObject answers PUT: create (201) or replace (200).
func (h *Handler) putObject(o *op, req *request, r ref, prec preconditions) (*response, error) {
	p, err := parsePayload(req.body)
	if err != nil {
		return nil, err
	}
	existing, err := o.get(r)
	if err != nil {
		return nil, err
	}
	if err := o.checkPreconditions(r, prec, existing); err != nil {
		return nil, err
	}
	data := p.Data
	if data == nil && existing != nil {
		data = existing.Data
	}
	perms := Permissions{}
	if existing != nil && p.Permissions == nil {
		perms = existing.Permissions.clone()
	}
	perms.replace(p.Permissions)
	obj, err := o.save(r, data, perms, req.principal())
	if err != nil {
		return nil, err
	}
	status := http.StatusOK
	if existing == nil {
		status = http.StatusCreated
	}
	return objectResponse(status, obj)
}

// createObject answers POST on a list: 201 with the new object, or 200
// with the existing one when the posted id is taken.
func (h *Handler) createObject(o *op, req *request, r ref, prec preconditions) (*response, error) {
	p, err := parsePayload(req.body)
	if err != nil {
		return nil, err
	}
	id, err := postedID(p.Data)
	if err != nil {
		return nil, err
	}
	var existing *Object
	if id != "" {
		if existing, err = o.get(r.withID(id)); err != nil {
			return nil, err
		}
	} else {
		id = newID(r.Kind)
	}
	if err := o.checkPreconditions(r.withID(id), prec, existing); err != nil {
		return nil, err
	}
	if existing != nil {
		return objectResponse(http.StatusOK, existing)
	}
	perms := Permissions{}
	perms.replace(p.Permissions)
	obj, err := o.save(r.withID(id), p.Data, perms, req.principal())
	if err != nil {
		return nil, err
	}
	return objectResponse(http.StatusCreated, obj)
}

// postedID returns the id a POSTed object carries, or "".
func postedID(data json.RawMessage) (string, error) {
	v := gjson.GetBytes(data, "id")
	if !v.Exists() {
		return "", nil
	}
	if v.Type != gjson.String || !validID(v.Str) {
		return "", Invalid(ValidationDetail{Location: "path", Description: "Invalid object id", Nameless: true})
	}
	return v.Str, nil
}

// deleteObject answers DELETE on an object with its tombstone.
func (h *Handler) deleteObject(o *op, req *request, r ref, prec preconditions) (*response, error) {
	_, err := o.mustExist(r, prec)
	if err != nil {
		return nil, err
	}
	requested, _ := strconv.ParseInt(req.query.Get("last_modified"), 10, 64)
	tomb, err := o.remove(r, requested)
	if err != nil {
		return nil, err
	}
	return objectResponse(http.StatusOK, tomb)
}

// mustExist returns the object r names, answering 404 when it does not
// exist and 412 when the preconditions fail.
func (o *op) mustExist(r ref, prec preconditions) (*Object, error) {
	obj, err := o.get(r)
	if err != nil {
		return nil, err
	}
	if obj == nil {
		return nil, notFound(r.Kind, r.ID)
	}
	return obj, o.checkPreconditions(r, prec, obj)
}

// checkPreconditions answers 412 (errno 114) when If-Match/If-None-Match
// fail against obj (nil when it does not exist, then the list timestamp is
// the current one). details.existing shows the object, without its
// permissions.
func (o *op) checkPreconditions(r ref, prec preconditions, obj *Object) error {
	current := int64(0)
	if obj != nil {
		current = obj.LastModified
	} else if prec.ifMatch.set || prec.ifNoneMatch.set {
		ts, err := o.listTimestamp(r.parent(), r.Kind)
		if err != nil {
			return err
		}
		current = ts
	}
	if !prec.failed(obj != nil, current) {
		return nil
	}
	e := NewError(http.StatusPreconditionFailed, ErrnoModifiedMeanwhile, "Resource was modified meanwhile")
	if obj != nil && !r.plural() {
		e.Details = map[string]json.RawMessage{"existing": obj.Data}
	}
	e.WithHeader("ETag", `"`+strconv.FormatInt(current, 10)+`"`)
	e.WithHeader("Last-Modified", httpDate(current))
	return e
}

// save writes a live object with a fresh timestamp: the id and
// last_modified fields are set in data (kept in place when the client sent
// them, appended otherwise, as Kinto does), and author gets write.
func (o *op) save(r ref, data json.RawMessage, perms Permissions, author string) (*Object, error) {
	if data == nil {
		data = json.RawMessage("{}")
	}
	ms := members(data)
	if id := findMember(ms, "id"); id != nil && gjson.ParseBytes(id).String() != r.ID {
		return nil, Invalid(ValidationDetail{Location: "body", Name: "id", Description: "Object id does not match existing object"})
	}
	requested := clientTimestamp(findMember(ms, "last_modified"))
	ts, err := o.bumpTimestamp(r.parent(), r.Kind, requested)
	if err != nil {
		return nil, err
	}
	ms = setMember(ms, "id", appendJSONString(nil, r.ID))
	if ts != requested {
		// Kinto drops a client timestamp it does not keep, so the stored
		// one comes last.
		ms = deleteMember(ms, "last_modified")
	}
	ms = setMember(ms, "last_modified", strconv.AppendInt(nil, ts, 10))
	perms.add("write", author)
	obj := &Object{ID: r.ID, LastModified: ts, Data: buildObject(ms), Permissions: perms}
	return obj, o.put(r, obj)
}

// clientTimestamp returns a client-supplied last_modified when it is an
// integer (Kinto drops anything else), or 0.
func clientTimestamp(raw json.RawMessage) int64 {
	ts, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || ts < 0 {
		return 0
	}
	return ts
}

// remove replaces an object by its tombstone; deleting a bucket or a
// collection also deletes everything below it, without tombstones (as
// Kinto's on_buckets_deleted / on_collections_deleted do).
func (o *op) remove(r ref, requested int64) (*Object, error) {
	ts, err := o.bumpTimestamp(r.parent(), r.Kind, requested)
	if err != nil {
		return nil, err
	}
	tomb := &Object{ID: r.ID, LastModified: ts, Deleted: true}
	if err := o.put(r, tomb); err != nil {
		return nil, err
	}
	if r.Kind == KindBucket || r.Kind == KindCollection {
		if err := o.tx.DeleteTree(r.uri()); err != nil {
			return nil, err
		}
	}
	tomb.Data = tombstoneData(tomb)
	return tomb, nil
}

// tombstoneData renders {"id","last_modified","deleted":true}.
func tombstoneData(obj *Object) json.RawMessage {
	out := append([]byte(`{"id":`), appendJSONString(nil, obj.ID)...)
	out = append(out, `,"last_modified":`...)
	out = strconv.AppendInt(out, obj.LastModified, 10)
	return append(out, `,"deleted":true}`...)
}

// objectResponse renders {"permissions", "data"} with the object's
// timestamp headers.
func objectResponse(status int, obj *Object) (*response, error) {
	body, err := objectBody(obj, nil)
	if err != nil {
		return nil, err
	}
	resp := newResponse(status, body)
	resp.setTimestamp(obj.LastModified)
	return resp, nil
}

// objectBody renders an object as Kinto does: permissions first (absent on
// tombstones), then data, projected on fields when asked.
func objectBody(obj *Object, fields []string) ([]byte, error) {
	data := obj.Data
	if obj.Deleted {
		data = tombstoneData(obj)
	}
	if len(fields) > 0 {
		var err error
		if data, err = projectFields(data, fields); err != nil {
			return nil, err
		}
	}
	out := make([]byte, 0, len(data)+128)
	out = append(out, '{')
	if !obj.Deleted {
		perms, err := json.Marshal(obj.Permissions.orEmpty())
		if err != nil {
			return nil, err
		}
		out = append(out, `"permissions":`...)
		out = append(out, perms...)
		out = append(out, ',')
	}
	out = append(out, `"data":`...)
	out = append(out, data...)
	return append(out, '}'), nil
}

// clone returns an independent copy.
func (p Permissions) clone() Permissions {
	out := make(Permissions, len(p))
	for k, v := range p {
		out[k] = slices.Clone(v)
	}
	return out
}

// replace sets each permission of with (replacing its principals).
func (p Permissions) replace(with Permissions) {
	for k, v := range with {
		p[k] = normalizePrincipals(v)
	}
}

// add grants perm to principal.
func (p Permissions) add(perm, principal string) {
	p[perm] = normalizePrincipals(append(p[perm], principal))
}

// orEmpty drops empty permissions and never returns nil, so the JSON is
// an object.
func (p Permissions) orEmpty() Permissions {
	out := Permissions{}
	for k, v := range p {
		if len(v) > 0 {
			out[k] = v
		}
	}
	return out
}

// normalizePrincipals sorts and de-duplicates principals.
func normalizePrincipals(ps []string) []string {
	out := slices.Clone(ps)
	slices.Sort(out)
	return slices.Compact(out)
}
