package conditional

import (
	"net/http"
	"slices"
	"strings"

	"github.com/changegate/changegate/internal/middleware"
	"github.com/changegate/changegate/kinto"
	"github.com/changegate/changegate/render"
)

// DefaultOverrideHeader is the header clients behind restrictive proxies
// use to tunnel a method through POST (Google's and Eve's name).
const DefaultOverrideHeader = "X-HTTP-Method-Override"

// DefaultOverridable are the methods POST may be turned into.
var DefaultOverridable = []string{http.MethodPut, http.MethodPatch, http.MethodDelete}

// MethodOverride honours X-HTTP-Method-Override on POST requests, for an
// allowlist of methods. Unlike Eve, which accepts it on any method, it
// refuses it elsewhere: a GET that turns into a DELETE is a cross-site
// request forgery waiting for an <img> tag.
type MethodOverride struct {
	// Header is the override header. Default: DefaultOverrideHeader.
	Header string
	// Allow lists the methods POST may become. Default:
	// DefaultOverridable.
	Allow []string
	// Routes tells where refusals take Kinto's error shape.
	Routes render.Routes
}

// Serve rewrites the method, or refuses the request with 400, then
// calls next.
func (m *MethodOverride) Serve(w http.ResponseWriter, r *http.Request, next middleware.Next) error {
	name := m.Header
	if name == "" {
		name = DefaultOverrideHeader
	}
	values := r.Header.Values(name)
	if len(values) == 0 || (len(values) == 1 && values[0] == "") {
		return next(w, r)
	}
	allow := m.Allow
	if len(allow) == 0 {
		allow = DefaultOverridable
	}
	if len(values) > 1 {
		// Two overrides name two methods: intermediaries may keep either
		// one, so honouring the first would let a proxy and the upstream
		// disagree on what the request does.
		return m.Routes.Refuse(w, r, m.duplicate(name))
	}
	method := strings.ToUpper(strings.TrimSpace(values[0]))
	if r.Method != http.MethodPost || !slices.Contains(allow, method) {
		return m.Routes.Refuse(w, r, m.refusal(name, r.Method, allow))
	}
	r.Method = method
	// The upstream must see one method, not two.
	r.Header.Del(name)
	return next(w, r)
}

// duplicate is the refusal of a request carrying the header twice.
func (m *MethodOverride) duplicate(name string) *render.Error {
	desc := name + " must be sent once"
	return &render.Error{Status: http.StatusBadRequest, Message: desc,
		Param: &kinto.ValidationDetail{Location: "header", Name: name, Description: desc}}
}

func (m *MethodOverride) refusal(name, method string, allow []string) *render.Error {
	desc := name + " may turn POST into " + strings.Join(allow, ", ") + " only"
	if method != http.MethodPost {
		desc = name + " is only honoured on POST, not " + method
	}
	return &render.Error{Status: http.StatusBadRequest, Message: desc,
		Param: &kinto.ValidationDetail{Location: "header", Name: name, Description: desc}}
}

// Interface guard: the one middleware shape.
var _ middleware.Handler = (*MethodOverride)(nil)
