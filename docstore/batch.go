package docstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/changegate/changegate/kinto"
)

// batchMethods are the methods a sub-request may use (Kinto's
// valid_http_method).
var batchMethods = []string{"GET", "HEAD", "DELETE", "TRACE", "POST", "PUT", "PATCH"}

// subRequest is one validated entry of a batch.
type subRequest struct {
	Method  string            `json:"method"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// subResponse is one entry of the batch answer.
type subResponse struct {
	Status  int               `json:"status"`
	Path    string            `json:"path"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

// errBatchAborted carries the 5xx answer of a sub-request out of the
// transaction so that the whole batch rolls back.
type errBatchAborted struct{ resp *response }

func (e *errBatchAborted) Error() string { return "batch aborted by a " + strconv.Itoa(e.resp.status) }

// batch answers POST /v1/batch: every sub-request runs in one
// transaction, in order. A 4xx answer is reported and the batch goes on;
// a 5xx answer rolls everything back and becomes the batch's answer.
func (h *Handler) batch(ctx context.Context, req *request) *response {
	if req.method != http.MethodPost {
		return errorResponse(errMethodNotAllowed("OPTIONS, POST"))
	}
	if err := checkContentType(req); err != nil {
		return errorResponse(err)
	}
	subs, err := h.parseBatch(req.body)
	if err != nil {
		return errorResponse(kinto.AsError(err))
	}
	var out []subResponse
	err = h.store.write(ctx, func(o *op) error {
		out = out[:0]
		for _, sub := range subs {
			resp, err := h.serveSub(o, req, sub)
			if err != nil {
				return err
			}
			if resp.status >= 500 {
				return &errBatchAborted{resp: resp}
			}
			out = append(out, toSubResponse(h.cfg.Prefix, sub, resp))
		}
		return nil
	})
	var aborted *errBatchAborted
	if errors.As(err, &aborted) {
		return aborted.resp
	}
	if err != nil {
		return h.internalError(req, err)
	}
	return marshalResponse(http.StatusOK, map[string]any{"responses": out})
}

// parseBatch validates the batch body and merges defaults into each
// request.
func (h *Handler) parseBatch(body []byte) ([]subRequest, error) {
	var top map[string]json.RawMessage
	if err := parseJSON(body, &top); err != nil {
		return nil, err
	}
	if err := refuseUnknownKeys(top, "defaults", "requests"); err != nil {
		return nil, err
	}
	var defaults map[string]any
	if raw, ok := top["defaults"]; ok && json.Unmarshal(raw, &defaults) != nil {
		return nil, notMapping("defaults", raw)
	}
	var requests []map[string]any
	raw, ok := top["requests"]
	if !ok {
		return nil, kinto.Invalid(kinto.ValidationDetail{Location: "body", Name: "requests", Description: "Required"})
	}
	if json.Unmarshal(raw, &requests) != nil {
		return nil, kinto.Invalid(kinto.ValidationDetail{Location: "body", Name: "requests", Description: `"` + string(raw) + `" is not iterable`})
	}
	if len(requests) > h.cfg.BatchMaxRequests {
		return nil, kinto.Invalid(kinto.ValidationDetail{Location: "body", Name: "requests",
			Description: fmt.Sprintf("Number of requests is limited to %d", h.cfg.BatchMaxRequests)})
	}
	subs := make([]subRequest, len(requests))
	for i, r := range requests {
		mergeDefaults(r, defaults)
		sub, err := validateSub(i, r)
		if err != nil {
			return nil, err
		}
		if jsonDepthExceeds(sub.Body, h.cfg.MaxDepth) {
			return nil, h.tooDeep()
		}
		if strings.Contains(sub.Path, "/batch") {
			return nil, kinto.Invalid(kinto.ValidationDetail{Location: "body", Name: "requests",
				Description: "Recursive call on /batch endpoint is forbidden."})
		}
		subs[i] = sub
	}
	return subs, nil
}

// mergeDefaults deep-merges defaults into r; r's own values win.
func mergeDefaults(r, defaults map[string]any) {
	for k, dv := range defaults {
		rv, ok := r[k]
		if !ok {
			r[k] = dv
			continue
		}
		rm, rIsMap := rv.(map[string]any)
		dm, dIsMap := dv.(map[string]any)
		if rIsMap && dIsMap {
			mergeDefaults(rm, dm)
		}
	}
}

// validateSub checks one merged sub-request as Kinto's BatchRequestSchema
// does.
func validateSub(i int, r map[string]any) (subRequest, error) {
	field := func(name string) string { return "requests." + strconv.Itoa(i) + "." + name }
	invalid := func(name, desc string) error {
		return kinto.Invalid(kinto.ValidationDetail{Location: "body", Name: field(name), Description: desc})
	}
	for k := range r {
		if !slices.Contains([]string{"method", "path", "headers", "body"}, k) {
			return subRequest{}, invalid(k, "Unrecognized key")
		}
	}
	sub := subRequest{Method: "GET"}
	if m, ok := r["method"]; ok {
		s, isStr := m.(string)
		if !isStr || !slices.Contains(batchMethods, s) {
			return sub, invalid("method", fmt.Sprintf(`"%v" is not one of %s`, m, strings.Join(batchMethods, ", ")))
		}
		sub.Method = s
	}
	p, ok := r["path"].(string)
	switch {
	case r["path"] == nil:
		return sub, invalid("path", "Required")
	case !ok || !strings.HasPrefix(p, "/"):
		return sub, invalid("path", "String does not match expected pattern")
	}
	sub.Path = p
	if hs, ok := r["headers"]; ok {
		m, isMap := hs.(map[string]any)
		if !isMap {
			return sub, invalid("headers", "is not a mapping type")
		}
		sub.Headers = map[string]string{}
		for k, v := range m {
			s, isStr := v.(string)
			if !isStr {
				return sub, invalid("headers", fmt.Sprintf("%v contains non string value", m))
			}
			sub.Headers[k] = s
		}
	}
	if b, ok := r["body"]; ok && b != nil {
		if _, isMap := b.(map[string]any); !isMap {
			return sub, invalid("body", "is not a mapping type")
		}
		sub.Body, _ = json.Marshal(b)
	}
	return sub, nil
}

// serveSub runs one sub-request inside the batch transaction. Its headers
// are the batch request's, overridden by its own.
func (h *Handler) serveSub(o *op, parent *request, sub subRequest) (*response, error) {
	u, err := url.Parse(sub.Path)
	if err != nil {
		return errorResponse(errUnknownPath()), nil
	}
	p := u.Path
	if !strings.HasPrefix(p, h.cfg.Prefix+"/") && p != h.cfg.Prefix {
		p = h.cfg.Prefix + p
	}
	req := &request{
		method: sub.Method,
		path:   strings.TrimPrefix(p, h.cfg.Prefix),
		query:  u.Query(),
		header: parent.header.Clone(),
		body:   sub.Body,
		origin: parent.origin,
		userID: parent.userID,
	}
	req.header.Del("Content-Length")
	for k, v := range sub.Headers {
		req.header.Set(k, v)
	}
	if sub.Body != nil {
		req.header.Set("Content-Type", "application/json; charset=utf-8")
	}
	if resp := redirectSlash(req, h.cfg.Prefix); resp != nil {
		return resp, nil
	}
	rt, ok := parseRoute(req.path)
	switch {
	case !ok:
		return errorResponse(errUnknownPath()), nil
	case rt.name == "root":
		id, err := o.identify(req.userID)
		if err != nil {
			return nil, err
		}
		return h.onlyGet(req, func(req *request) *response { return h.serverInfo(req, id) }), nil
	case rt.name == "lbheartbeat":
		return jsonResponse(http.StatusOK, []byte("{}")), nil
	case rt.name == "version":
		return h.onlyGet(req, h.version), nil
	case rt.name == "accounts" && h.cfg.Accounts != nil:
		var touched []string
		resp, err := h.serveAccount(o, req, rt.ref, &touched)
		o.afterCommit(func() {
			for _, id := range touched {
				h.verified.forget(id)
			}
		})
		return resp, err
	case (rt.name == "history" || rt.name == "snapshot") && h.cfg.History != nil:
		return h.serveHistory(o, req, rt.name, rt.ref)
	case rt.name != "resource":
		return errorResponse(errUnknownPath()), nil
	}
	return h.serveResource(o, req, rt.ref)
}

// toSubResponse renders a sub-request's answer as a batch entry.
func toSubResponse(prefix string, sub subRequest, resp *response) subResponse {
	headers := map[string]string{}
	for k, v := range resp.header {
		headers[k] = strings.Join(v, ", ")
	}
	body := json.RawMessage(`""`)
	if len(resp.body) > 0 && sub.Method != http.MethodHead && json.Valid(resp.body) {
		body = bytes.Clone(resp.body)
	}
	if resp.body != nil {
		headers["Content-Type"] = "application/json"
	}
	p := sub.Path
	if u, err := url.Parse(p); err == nil {
		p = u.Path
	}
	if !strings.HasPrefix(p, prefix+"/") {
		p = prefix + p
	}
	return subResponse{Status: resp.status, Path: p, Headers: headers, Body: body}
}
