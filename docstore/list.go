package docstore

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/changegate/changegate/kinto"
	"github.com/changegate/changegate/kinto/query"
)

// listed is an object found by a list query: the stored object and its
// decoded form, which filters and sorting read.
type listed struct {
	obj     *Object
	decoded map[string]any
}

// listObjects answers GET/HEAD on a list. The ETag is the list timestamp
// whatever the filters; HEAD gives Total-Records and Total-Objects.
func (h *Handler) listObjects(o *op, c *call) (*response, error) {
	parse := func() (*query.Query, error) { return h.parseQuery(c.request.query) }
	return h.listPage(o, c, c.r.Kind, parse, c.visibleFilter())
}

// listPage answers GET/HEAD on the list of kind under c's parent with
// the query parse returns, keeping the objects visible accepts. The query
// is parsed after the preconditions: a 304 wins over a bad filter.
func (h *Handler) listPage(o *op, c *call, kind string, parse func() (*query.Query, error), visible func(*Object) bool) (*response, error) {
	req, r, prec := c.request, c.r, c.prec
	ts, err := o.listTimestamp(r.parent(), kind)
	if err != nil {
		return nil, err
	}
	if prec.NotModified(ts) {
		resp := newResponse(http.StatusNotModified, nil)
		// RFC 9110 §15.4.5: a 304 carries the Cache-Control the 200
		// would have.
		resp.header.Set("Cache-Control", "no-cache, no-store")
		resp.setTimestamp(ts)
		return resp, nil
	}
	if err := o.checkPreconditions(c, &Object{LastModified: ts}); err != nil {
		return nil, err
	}
	q, err := parse()
	if err != nil {
		return nil, err
	}
	found, more, err := o.find(r, q, req.method == http.MethodHead, visible)
	if err != nil {
		return nil, err
	}
	resp := newResponse(http.StatusOK, []byte(`{"data":[]}`))
	resp.setTimestamp(ts)
	resp.header.Set("Cache-Control", "no-cache, no-store")
	if req.method == http.MethodHead {
		n := strconv.Itoa(len(found))
		resp.header.Set("Total-Objects", n)
		resp.header.Set("Total-Records", n)
		return resp, nil
	}
	if more {
		// Kinto's offset counts what it fetched: the page and one more.
		resp.header.Set("Next-Page", h.nextPage(req, q, found[len(found)-1], q.Offset+len(found)+1))
	}
	if q.DeprecatedTo {
		resp.header.Set("Alert", deprecationAlert(query.ToAlertMessage, query.ToAlertURL))
	}
	if resp.body, err = listBody(found, q); err != nil {
		return nil, err
	}
	return resp, nil
}

// deleteObjects answers DELETE on a list: the matching objects (a page of
// them) are replaced by tombstones, which the response lists.
func (h *Handler) deleteObjects(o *op, c *call) (*response, error) {
	req, r := c.request, c.r
	ts, err := o.listTimestamp(r.parent(), r.Kind)
	if err != nil {
		return nil, err
	}
	if err := o.checkPreconditions(c, &Object{LastModified: ts}); err != nil {
		return nil, err
	}
	q, err := h.parseQuery(req.query)
	if err != nil {
		return nil, err
	}
	// A DELETE page token works once (Kinto #1171): deleting with a stale
	// token could delete what the client never saw. It is consumed once
	// per request, however many times this runs for it.
	if q.Nonce != "" && !o.once("nonce "+q.Nonce, func() bool { return h.nonces.use(q.Nonce) }) {
		return nil, fromQueryError(query.ErrTokenReused())
	}
	found, more, err := o.find(r, q, false, c.visible)
	if err != nil {
		return nil, err
	}
	tombs := make([]listed, 0, len(found))
	for _, f := range found {
		tomb, err := o.remove(r.withID(f.obj.ID), 0)
		if err != nil {
			return nil, err
		}
		tombs = append(tombs, listed{obj: tomb})
		ts = max(ts, tomb.LastModified)
	}
	resp := newResponse(http.StatusOK, nil)
	resp.setTimestamp(ts)
	if more {
		token := h.nextPage(req, q, found[len(found)-1], q.Offset)
		h.nonces.issue(token)
		resp.header.Set("Next-Page", token)
	}
	if resp.body, err = listBody(tombs, nil); err != nil {
		return nil, err
	}
	return resp, nil
}

// parseQuery validates a list query string.
func (h *Handler) parseQuery(values url.Values) (*query.Query, error) {
	q, err := query.Parse(values, query.Options{
		Now:        h.store.nowMillis(),
		PaginateBy: h.cfg.PaginateBy,
		MaxFetch:   h.cfg.MaxFetch,
	})
	if qe, ok := err.(*query.Error); ok {
		return nil, fromQueryError(qe)
	}
	return q, err
}

// fromQueryError renders a query error as Kinto's 400, every detail kept.
func fromQueryError(qe *query.Error) *kinto.Error { return qe.Kinto() }

// find returns the objects of list r matching q, in q's order, one page
// of them; more reports a further page. For a count (HEAD) every match is
// returned. A nil visible shows every object, read without permissions.
func (o *op) find(r ref, q *query.Query, all bool, visible func(*Object) bool) (found []listed, more bool, err error) {
	limit := q.Limit
	// In the default order the scan yields objects already sorted, so it
	// can stop as soon as one object past the page is found.
	stopEarly := q.DefaultOrder() && !all
	opts := ScanOptions{Since: q.SinceHint(), IncludeDeleted: q.IncludeDeleted}
	if stopEarly {
		opts.Expect = limit + 1
	}
	if visible == nil {
		// Everything is visible: no object's permissions are needed.
		opts.NoPermissions = true
		visible = func(*Object) bool { return true }
		// Nothing rejects what the engine returns: its first page is
		// the whole answer, the last read of a list GET.
		opts.Last = stopEarly && q.SinceExact()
	}
	// Most sync queries (_since, _limit, the default order) read nothing
	// but ids and timestamps: then objects are matched without decoding.
	light := q.ReadsOnly("id", "last_modified", "deleted")
	// A light match in the default order keeps no decoded form: nothing
	// sorts the page, and the few readers of one rebuild it (fields).
	// When the engine's Since bound says all the filters say, what it
	// returns matches: nothing to decode.
	var scratch map[string]any
	matched := false
	if light && q.DefaultOrder() {
		scratch = make(map[string]any, 3)
		matched = q.SinceExact()
	}
	err = o.tx.Scan(r.parent(), r.Kind, opts, func(obj *Object) (bool, error) {
		if !visible(obj) {
			return true, nil
		}
		var decoded map[string]any
		if !matched {
			var err error
			if decoded, err = decodeListed(obj, light, scratch); err != nil {
				return false, err
			}
			if !q.Match(decoded) {
				return true, nil
			}
		}
		if scratch != nil {
			decoded = nil
		}
		found = append(found, listed{obj: obj, decoded: decoded})
		return !stopEarly || len(found) <= limit, nil
	})
	if err != nil || all {
		return found, false, err
	}
	if !q.DefaultOrder() {
		sortListed(q, found)
	}
	if len(found) > limit {
		return found[:limit], true, nil
	}
	return found, false, nil
}

// visible reports whether a list shows obj to the caller: everything when
// the caller may read (or write) the whole list, else only the objects
// shared with them.
func (c *call) visible(obj *Object) bool {
	return c.acc.all || sharedWith(c.id, c.r.Kind, obj, c.acc.shared)
}

// visibleFilter is c.visible, or nil when the caller sees every object
// of the list.
func (c *call) visibleFilter() func(*Object) bool {
	if c.acc.all {
		return nil
	}
	return c.visible
}

// fields is f's decoded form, rebuilt when find kept none (a light
// match: its id, timestamp and deletion mark).
func (f listed) fields() map[string]any {
	if f.decoded != nil {
		return f.decoded
	}
	m, _ := decodeListed(f.obj, true, nil)
	return m
}

// decodeListed decodes an object (or tombstone) for filtering and
// sorting; light decodes only its id, timestamp and deletion mark, into
// scratch when there is one (cleared first), else into a new map.
func decodeListed(obj *Object, light bool, scratch map[string]any) (map[string]any, error) {
	if light {
		m := scratch
		if m == nil {
			m = make(map[string]any, 3)
		}
		clear(m)
		m["id"] = obj.ID
		m["last_modified"] = json.Number(strconv.FormatInt(obj.LastModified, 10))
		if obj.Deleted {
			m["deleted"] = true
		}
		return m, nil
	}
	data := obj.Data
	if obj.Deleted {
		data = tombstoneData(obj)
	}
	return query.Decode(data)
}

// sortListed sorts found in q's order.
func sortListed(q *query.Query, found []listed) {
	slices.SortStableFunc(found, func(a, b listed) int { return q.Compare(a.decoded, b.decoded) })
}

// listBody renders {"data": [...]}, projected on q's _fields.
func listBody(found []listed, q *query.Query) ([]byte, error) {
	size := 12
	for _, f := range found {
		size += len(f.obj.Data) + 1
	}
	out := make([]byte, 0, size)
	out = append(out, `{"data":[`...)
	for i, f := range found {
		if i > 0 {
			out = append(out, ',')
		}
		data := f.obj.Data
		if f.obj.Deleted {
			data = tombstoneData(f.obj)
		}
		if q != nil && len(q.Fields) > 0 {
			projected, err := json.Marshal(q.Project(f.fields()))
			if err != nil {
				return nil, err
			}
			data = projected
		}
		out = append(out, data...)
	}
	return append(out, "]}"...), nil
}

// nextPage builds the Next-Page URL: the same request with _limit and a
// continuation token after last.
func (h *Handler) nextPage(req *request, q *query.Query, last listed, offset int) string {
	values := url.Values{}
	for k, v := range req.query {
		values[k] = v
	}
	values.Set("_limit", strconv.Itoa(q.Limit))
	values.Set("_token", q.NextPageToken(last.fields(), offset))
	return req.origin + h.cfg.Prefix + req.path + "?" + values.Encode()
}

// projectFields projects one object's data on _fields.
func projectFields(data json.RawMessage, fields []string) (json.RawMessage, error) {
	decoded, err := query.Decode(data)
	if err != nil {
		return nil, err
	}
	return json.Marshal(query.ProjectFields(decoded, fields))
}
