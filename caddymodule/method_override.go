package caddymodule

import (
	"fmt"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/changegate/changegate/conditional"
)

func init() {
	caddy.RegisterModule(MethodOverride{})
}

// MethodOverride turns a POST into the method named by its
// X-HTTP-Method-Override header, for clients behind proxies that only
// let GET and POST through (http.handlers.method_override). Only POST is
// overridden, and only into an allowed method; the header on any other
// request, or naming another method, is refused with 400. Its directive
// comes right after Caddy's method directive, so that authentication,
// rate limits and every matcher after it see the real method.
type MethodOverride struct {
	KintoRoutes
	// Header is the override header. Default: X-HTTP-Method-Override.
	Header string `json:"header,omitempty"`
	// Allow lists the methods POST may become. Default: PUT, PATCH,
	// DELETE.
	Allow []string `json:"allow,omitempty"`

	override *conditional.MethodOverride
}

// CaddyModule returns the Caddy module information.
func (MethodOverride) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.method_override",
		New: func() caddy.Module { return new(MethodOverride) },
	}
}

// Provision builds the middleware.
func (m *MethodOverride) Provision(caddy.Context) error {
	m.override = &conditional.MethodOverride{Header: m.Header, Allow: m.Allow, Routes: m.routes()}
	return nil
}

// Validate checks the settings.
func (m *MethodOverride) Validate() error {
	if err := validMethods(m.Allow); err != nil {
		return fmt.Errorf("method_override: allow: %w", err)
	}
	return m.validate()
}

// ServeHTTP runs the middleware.
func (m *MethodOverride) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	return handlerError(m.override.Serve(w, r, next.ServeHTTP))
}

// Interface guards
var (
	_ caddy.Provisioner           = (*MethodOverride)(nil)
	_ caddy.Validator             = (*MethodOverride)(nil)
	_ caddyhttp.MiddlewareHandler = (*MethodOverride)(nil)
)
