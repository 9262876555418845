package docstore

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/changegate/changegate/kinto"
	"github.com/tidwall/gjson"
)

// serveResource answers an object or list request inside o's transaction.
// The error is for failures that must abort the transaction; Kinto errors
// come back as responses.
func (h *Handler) serveResource(o *op, req *request, r ref) (*response, error) {
	h.prepare(o, req)
	resp, err := h.routeResource(o, req, r)
	if err != nil {
		if ke, ok := err.(*kinto.Error); ok {
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
		return kinto.ExposePluralHead
	case r.plural() && method == http.MethodGet:
		return kinto.ExposePluralRead
	case method == http.MethodGet || method == http.MethodHead:
		return kinto.ExposeObjectRead
	}
	return kinto.ExposeDefault
}

// call is one resource request being served: the request, what it
// names, who makes it and what it may see.
type call struct {
	*request
	r    ref
	prec kinto.Preconditions
	id   *identity
	acc  access
	// existing is the object the request names (for POST, the one with
	// the posted id), nil when there is none.
	existing *Object
	// payload is the parsed body of PUT and POST.
	payload *payload
}

func (h *Handler) routeResource(o *op, req *request, r ref) (*response, error) {
	if resp := h.checkRequest(req, r); resp != nil {
		return resp, nil
	}
	c, err := h.newCall(o, req, r)
	if err != nil {
		return nil, err
	}
	if c.acc, err = h.authorize(o, c.id, req, c.r, c.existing); err != nil {
		return nil, err
	}
	if err := o.requireParents(c.r); err != nil {
		return nil, err
	}
	return h.serveCall(o, c)
}

// newCall identifies the caller, resolves the default bucket, validates
// the body and reads the object the request names.
func (h *Handler) newCall(o *op, req *request, r ref) (*call, error) {
	c := &call{request: req, r: r}
	c.prec, _ = kinto.ParsePreconditions(req.header)
	var err error
	if c.id, err = o.identify(req.userID); err != nil {
		return nil, err
	}
	if c.r, err = h.resolveDefaultBucket(o, c, r); err != nil {
		return nil, err
	}
	if !c.r.plural() && !validID(c.r.ID) {
		return nil, kinto.Invalid(kinto.ValidationDetail{Location: "path", Description: "Invalid object id", Nameless: true})
	}
	if req.method == http.MethodPut || req.method == http.MethodPost {
		if c.payload, err = parsePayload(req.body); err != nil {
			return nil, err
		}
		if err := checkKnownPermissions(c.r.Kind, c.payload.Permissions); err != nil {
			return nil, err
		}
		if err := h.checkClientTimestamp(nil, c.payload.Data); err != nil {
			return nil, err
		}
	}
	target := c.r
	if c.r.plural() && req.method == http.MethodPost {
		id, err := postedID(c.payload.Data)
		if err != nil {
			return c, err
		}
		if id != "" {
			target = c.r.withID(id)
		}
	}
	reading := req.method == http.MethodGet || req.method == http.MethodHead
	if err := o.prefetch(target, reading); err != nil {
		return nil, err
	}
	if !target.plural() {
		c.existing, err = o.get(target)
	}
	return c, err
}

// serveCall dispatches an authorized call.
func (h *Handler) serveCall(o *op, c *call) (*response, error) {
	if c.r.plural() {
		switch c.method {
		case http.MethodPost:
			return h.createObject(o, c)
		case http.MethodDelete:
			return h.deleteObjects(o, c)
		}
		return h.listObjects(o, c)
	}
	switch c.method {
	case http.MethodPut:
		return h.putObject(o, c)
	case http.MethodPatch:
		return h.patchObject(o, c)
	case http.MethodDelete:
		return h.deleteObject(o, c)
	}
	return h.getObject(o, c)
}

// getObject answers GET/HEAD on an object.
func (h *Handler) getObject(o *op, c *call) (*response, error) {
	obj := c.existing
	if obj == nil {
		return nil, notFound(c.r.Kind, c.r.ID)
	}
	if c.prec.NotModified(obj.LastModified) {
		resp := newResponse(http.StatusNotModified, nil)
		// RFC 9110 §15.4.5: a 304 carries the Cache-Control the 200
		// would have.
		resp.header.Set("Cache-Control", "no-cache, no-store")
		resp.setTimestamp(obj.LastModified)
		return resp, nil
	}
	if err := o.checkPreconditions(c, obj); err != nil {
		return nil, err
	}
	body, err := objectBody(obj, c.id)
	if fields := objectFields(c.query["_fields"]); fields != nil {
		body, err = projectedBody(obj, fields)
	}
	if err != nil {
		return nil, err
	}
	resp := newResponse(http.StatusOK, body)
	resp.setTimestamp(obj.LastModified)
	resp.header.Set("Cache-Control", "no-cache, no-store")
	return resp, nil
}

// putObject answers PUT: create (201) or replace (200).
func (h *Handler) putObject(o *op, c *call) (*response, error) {
	if err := o.checkPreconditions(c, c.existing); err != nil {
		return nil, err
	}
	data := c.payload.Data
	perms := Permissions{}
	if c.existing != nil {
		if data == nil {
			data = c.existing.Data
		}
		if c.payload.Permissions == nil {
			perms = c.existing.Permissions.clone()
		}
	}
	perms.replace(c.payload.Permissions)
	obj, err := o.save(c.r, data, perms, c.principal())
	if err != nil {
		return nil, err
	}
	status := http.StatusOK
	if c.existing == nil {
		status = http.StatusCreated
	}
	return objectResponse(status, obj, c.id)
}

// createObject answers POST on a list: 201 with the new object, or 200
// with the existing one when the posted id is taken.
func (h *Handler) createObject(o *op, c *call) (*response, error) {
	id, err := postedID(c.payload.Data)
	if err != nil {
		return nil, err
	}
	if id == "" {
		id = newID(c.r.Kind)
	}
	if err := o.checkPreconditions(&call{request: c.request, r: c.r.withID(id), prec: c.prec, id: c.id}, c.existing); err != nil {
		return nil, err
	}
	if c.existing != nil {
		return objectResponse(http.StatusOK, c.existing, c.id)
	}
	perms := Permissions{}
	perms.replace(c.payload.Permissions)
	obj, err := o.save(c.r.withID(id), c.payload.Data, perms, c.principal())
	if err != nil {
		return nil, err
	}
	return objectResponse(http.StatusCreated, obj, c.id)
}

// postedID returns the id a POSTed object carries, or "".
func postedID(data json.RawMessage) (string, error) {
	v := gjson.GetBytes(data, "id")
	if !v.Exists() {
		return "", nil
	}
	if v.Type != gjson.String || !validID(v.Str) {
		return "", kinto.Invalid(kinto.ValidationDetail{Location: "path", Description: "Invalid object id", Nameless: true})
	}
	return v.Str, nil
}

// deleteObject answers DELETE on an object with its tombstone.
func (h *Handler) deleteObject(o *op, c *call) (*response, error) {
	if err := o.mustExist(c); err != nil {
		return nil, err
	}
	requested, _ := strconv.ParseInt(c.query.Get("last_modified"), 10, 64)
	if err := h.checkFuture(requested, "querystring", "last_modified"); err != nil {
		return nil, err
	}
	tomb, err := o.remove(c.r, requested)
	if err != nil {
		return nil, err
	}
	return objectResponse(http.StatusOK, tomb, c.id)
}

// mustExist answers 404 when the object the call names does not exist and
// 412 when the preconditions fail.
func (o *op) mustExist(c *call) error {
	if c.existing == nil {
		return notFound(c.r.Kind, c.r.ID)
	}
	return o.checkPreconditions(c, c.existing)
}

// checkPreconditions answers 412 (errno 114) when If-Match/If-None-Match
// fail against obj (nil when it does not exist, then the list timestamp is
// the current one). details.existing shows the object, without its
// permissions, and only to a caller who may read it.
func (o *op) checkPreconditions(c *call, obj *Object) error {
	r, prec := c.r, c.prec
	current := int64(0)
	if obj != nil {
		current = obj.LastModified
	} else if prec.Set() {
		ts, err := o.listTimestamp(r.parent(), r.Kind)
		if err != nil {
			return err
		}
		current = ts
	}
	if !prec.Failed(obj != nil, current) {
		return nil
	}
	e := kinto.ModifiedMeanwhile()
	if obj != nil && !r.plural() {
		readable, err := o.readable(c, r.withID(obj.ID))
		if err != nil {
			return err
		}
		if readable {
			e.Details = map[string]json.RawMessage{"existing": obj.Data}
		}
	}
	e.WithHeader("ETag", `"`+strconv.FormatInt(current, 10)+`"`)
	e.WithHeader("Last-Modified", httpDate(current))
	return e
}

// readable reports whether the caller may read the object r names.
func (o *op) readable(c *call, r ref) (bool, error) {
	if c.acc.insecure {
		return true, nil
	}
	return o.permitted(c.id, r, permRead)
}

// save writes a live object with a fresh timestamp: the id and
// last_modified fields are set in data (kept in place when the client sent
// them, appended otherwise, as Kinto does), and author gets write.
func (o *op) save(r ref, data json.RawMessage, perms Permissions, author string) (*Object, error) {
	if data == nil {
		data = json.RawMessage("{}")
	}
	if r.Kind == KindGroup {
		var err error
		if data, err = o.saveGroup(r, data); err != nil {
			return nil, err
		}
	}
	ms := members(data)
	if id := findMember(ms, "id"); id != nil && gjson.ParseBytes(id).String() != r.ID {
		return nil, kinto.Invalid(kinto.ValidationDetail{Location: "body", Name: "id", Description: "Object id does not match existing object"})
	}
	requested := clientTimestamp(findMember(ms, "last_modified"))
	ts, err := o.bumpTimestamp(r.parent(), r.Kind, requested)
	if err != nil {
		return nil, err
	}
	ms = setMember(ms, "id", kinto.AppendJSONString(nil, r.ID))
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
	if err := o.beforeRemove(r); err != nil {
		return nil, err
	}
	if err := o.removeAttachments(r); err != nil {
		return nil, err
	}
	ts, err := o.bumpTimestamp(r.parent(), r.Kind, requested)
	if err != nil {
		return nil, err
	}
	tomb := &Object{ID: r.ID, LastModified: ts, Deleted: true}
	if err := o.put(r, tomb); err != nil {
		return nil, err
	}
	if r.Kind == KindBucket || r.Kind == KindCollection {
		if err := o.deleteTree(r.uri()); err != nil {
			return nil, err
		}
	}
	tomb.Data = tombstoneData(tomb)
	return tomb, nil
}

// tombstoneData renders {"id","last_modified","deleted":true}.
func tombstoneData(obj *Object) json.RawMessage {
	out := append([]byte(`{"id":`), kinto.AppendJSONString(nil, obj.ID)...)
	out = append(out, `,"last_modified":`...)
	out = strconv.AppendInt(out, obj.LastModified, 10)
	return append(out, `,"deleted":true}`...)
}

// objectResponse renders {"permissions", "data"} with the object's
// timestamp headers.
func objectResponse(status int, obj *Object, viewer *identity) (*response, error) {
	body, err := objectBody(obj, viewer)
	if err != nil {
		return nil, err
	}
	resp := newResponse(status, body)
	resp.setTimestamp(obj.LastModified)
	return resp, nil
}

// objectFields reads the _fields of an object GET: comma-separated
// names, plus id and last_modified as Kinto's _extract_partial_fields
// adds them; nil when none were asked.
func objectFields(values []string) []string {
	var fields []string
	for _, v := range values {
		for f := range strings.SplitSeq(v, ",") {
			if f = strings.TrimSpace(f); f != "" {
				fields = append(fields, f)
			}
		}
	}
	if fields == nil {
		return nil
	}
	return append(fields, "id", "last_modified")
}

// projectedBody renders {"data": ...} reduced to fields: Kinto projects
// the stored object, its permissions included, so they are gone from a
// partial answer.
func projectedBody(obj *Object, fields []string) ([]byte, error) {
	data, err := projectFields(obj.Data, fields)
	if err != nil {
		return nil, err
	}
	return append(append([]byte(`{"data":`), data...), '}'), nil
}

// objectBody renders an object as Kinto does: permissions first (absent on
// tombstones, empty unless the viewer is one of the object's writers),
// then data.
func objectBody(obj *Object, viewer *identity) ([]byte, error) {
	data := obj.Data
	if obj.Deleted {
		data = tombstoneData(obj)
	}
	out := make([]byte, 0, len(data)+128)
	out = append(out, '{')
	if !obj.Deleted {
		perms := Permissions{}
		if viewer.holds(obj.Permissions[permWrite]) {
			perms = obj.Permissions.orEmpty()
		}
		b, err := json.Marshal(perms)
		if err != nil {
			return nil, err
		}
		out = append(out, `"permissions":`...)
		out = append(out, b...)
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
