package caddymodule

import (
	"errors"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/changegate/changegate/render"
)

func init() {
	caddy.RegisterModule(JSONP{})
}

// JSONP wraps JSON answers to GET in a call to the function named by the
// ?callback= query parameter (http.handlers.jsonp): "/**/ cb(<json>);"
// as application/javascript with X-Content-Type-Options: nosniff and
// U+2028/U+2029 escaped. Callback names must match
// ^[a-zA-Z_$][\w$.]*$ (400 otherwise). Error answers are wrapped too and
// sent as 200, so that the page's script runs and sees them. Requests
// with credentials are refused (400) unless allow_authenticated: JSONP
// hands the answer to whatever site includes the script.
type JSONP struct {
	KintoRoutes
	// Param is the query parameter. Default: callback.
	Param string `json:"param,omitempty"`
	// MaxLength bounds the callback name. Default: 128.
	MaxLength int `json:"max_length,omitempty"`
	// AllowAuthenticated wraps answers to requests with an
	// Authorization header, cookies or a user authenticated by Caddy.
	AllowAuthenticated bool `json:"allow_authenticated,omitempty"`
	// MaxBuffer bounds, in bytes, the bodies held to wrap; larger ones
	// pass through. Default: 8 MiB.
	MaxBuffer int64 `json:"max_buffer,omitempty"`

	jsonp *render.JSONP
}

// CaddyModule returns the Caddy module information.
func (JSONP) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.jsonp",
		New: func() caddy.Module { return new(JSONP) },
	}
}

// Provision builds the middleware.
func (j *JSONP) Provision(caddy.Context) error {
	j.jsonp = &render.JSONP{
		Param:              j.Param,
		MaxLength:          j.MaxLength,
		AllowAuthenticated: j.AllowAuthenticated,
		Authenticated:      authenticatedUser,
		MaxBuffer:          int(j.MaxBuffer),
		Routes:             j.routes(),
	}
	return nil
}

// Validate checks the settings.
func (j *JSONP) Validate() error {
	if j.MaxBuffer < 0 || j.MaxLength < 0 {
		return errors.New("jsonp: max_buffer and max_length must not be negative")
	}
	return j.validate()
}

// ServeHTTP runs the middleware.
func (j *JSONP) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	return handlerError(j.jsonp.Serve(w, r, next.ServeHTTP))
}

// Interface guards
var (
	_ caddy.Provisioner           = (*JSONP)(nil)
	_ caddy.Validator             = (*JSONP)(nil)
	_ caddyhttp.MiddlewareHandler = (*JSONP)(nil)
)
