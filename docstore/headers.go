package docstore

import (
	"encoding/json"
	"math/rand/v2"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/changegate/changegate/kinto"
)

// corsAllowHeaders are the request headers a preflight may ask for.
const corsAllowHeaders = "Authorization, Content-Type, If-Match, If-None-Match, Response-Behavior, Backoff, Retry-After, Alert"

// finish adds the headers every Kinto response carries.
func (h *Handler) finish(req *request, resp *response) {
	hd := resp.header
	if resp.body != nil && hd.Get("Content-Type") == "" {
		hd.Set("Content-Type", "application/json")
	}
	kinto.SetSecurityHeaders(hd)
	expose := resp.expose
	if expose == "" {
		expose = kinto.ExposeDefault
	}
	hd.Set("Access-Control-Expose-Headers", expose)
	h.setCORSOrigin(req, hd)
	if h.cfg.Backoff > 0 && (h.cfg.BackoffPercentage <= 0 || rand.Float64()*100 < h.cfg.BackoffPercentage) {
		hd.Set("Backoff", strconv.Itoa(h.cfg.Backoff))
	}
	if code := resp.status; code == http.StatusServiceUnavailable || code == http.StatusConflict {
		hd.Set("Retry-After", strconv.Itoa(h.cfg.RetryAfterSeconds))
	}
	if !h.eos.IsZero() {
		hd.Set("Alert", h.alert())
	}
}

// write sends the response.
func (h *Handler) write(w http.ResponseWriter, req *request, resp *response) {
	dst := w.Header()
	for k, v := range resp.header {
		if k == "Access-Control-Expose-Headers" {
			// Keep what a middleware in front exposed already (throttle's
			// rate-limit fields).
			if prev := dst.Values(k); len(prev) > 0 {
				v = []string{strings.Join(append(v, prev...), ", ")}
			}
		}
		dst[k] = v
	}
	if resp.status != http.StatusNotModified && resp.status != http.StatusNoContent {
		dst.Set("Content-Length", strconv.Itoa(len(resp.body)))
	}
	w.WriteHeader(resp.status)
	if req.method != http.MethodHead && resp.status != http.StatusNotModified {
		_, _ = w.Write(resp.body)
	}
}

// setCORSOrigin applies the CORS origin policy (see internal/cors): any
// origin without credentials by default, listed origins with them.
func (h *Handler) setCORSOrigin(req *request, hd http.Header) {
	h.cors.Apply(req.header.Get("Origin"), hd)
}

// preflight answers a CORS preflight OPTIONS request.
func (h *Handler) preflight(req *request) *response {
	resp := newResponse(http.StatusOK, nil)
	if req.header.Get("Origin") == "" || req.header.Get("Access-Control-Request-Method") == "" {
		return errorResponse(kinto.Invalid(kinto.ValidationDetail{Location: "header", Name: "Origin", Description: "this header is mandatory"}))
	}
	allow := corsAllowHeaders
	if asked := req.header.Get("Access-Control-Request-Headers"); asked != "" {
		allow += ", " + asked
	}
	resp.header.Set("Access-Control-Allow-Methods", "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT")
	resp.header.Set("Access-Control-Allow-Headers", allow)
	resp.header.Set("Access-Control-Max-Age", strconv.Itoa(int(h.cfg.CORSMaxAge.Seconds())))
	return resp
}

// EndOfService reports whether the configured end-of-service date
// passed: every request is then answered 410 (errno 202).
func (h *Handler) EndOfService() bool {
	return !h.eos.IsZero() && !time.Now().Before(h.eos)
}

// alert is the Alert header value for the end-of-service settings.
func (h *Handler) alert() string {
	code := "soft-eol"
	if h.EndOfService() {
		code = "hard-eol"
	}
	url := h.cfg.EOSURL
	if url == "" {
		url = h.cfg.ProjectDocs
	}
	return alertValue(code, h.cfg.EOSMessage, url)
}

// deprecationAlert is the soft-eol Alert Kinto sends for a deprecated
// parameter.
func deprecationAlert(message, url string) string {
	return alertValue("soft-eol", message, url)
}

// alertValue renders an Alert header: {"code", "message", "url"}.
func alertValue(code, message, url string) string {
	b, _ := json.Marshal(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		URL     string `json:"url"`
	}{code, message, url})
	return string(b)
}

// checkAccept answers 406 unless the client accepts JSON (Cornice's
// check, with its message).
func checkAccept(hd http.Header) *kinto.Error {
	accept := hd.Get("Accept")
	if accept == "" {
		return nil
	}
	for _, part := range strings.Split(accept, ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		if mt == "*/*" || mt == "application/*" || mt == "application/json" {
			return nil
		}
	}
	msg := "Accept header should be one of ['application/json']"
	return kinto.InvalidStatus(http.StatusNotAcceptable, kinto.ValidationDetail{Location: "header", Name: "Accept", Description: msg})
}

// checkContentType answers 415 when a body comes with a type we do not
// parse. A missing Content-Type is taken as JSON.
func checkContentType(req *request) *kinto.Error {
	ct := req.header.Get("Content-Type")
	if len(req.body) == 0 || ct == "" {
		return nil
	}
	mt, _, _ := mime.ParseMediaType(ct)
	allowed := []string{"application/json"}
	if req.method == http.MethodPatch {
		allowed = []string{"application/json", "application/json-patch+json", "application/merge-patch+json"}
	}
	for _, a := range allowed {
		if mt == a {
			return nil
		}
	}
	msg := "Content-Type header should be one of ['" + strings.Join(allowed, "', '") + "']"
	return kinto.InvalidStatus(http.StatusUnsupportedMediaType, kinto.ValidationDetail{Location: "header", Name: "Content-Type", Description: msg})
}

// httpDate formats a Kinto timestamp as an HTTP date (seconds truncated,
// as the reference server does).
func httpDate(ts int64) string {
	return time.UnixMilli(ts).UTC().Format(http.TimeFormat)
}

// mediaType returns the request's media type, lower-cased, without
// parameters.
func mediaType(hd http.Header) string {
	mt, _, _ := mime.ParseMediaType(hd.Get("Content-Type"))
	return mt
}
