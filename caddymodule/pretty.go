package caddymodule

import (
	"errors"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/changegate/changegate/render"
)

func init() {
	caddy.RegisterModule(Pretty{})
}

// Pretty indents JSON answers with 4 spaces when the request has the
// ?pretty query parameter, whatever its value (http.handlers.pretty).
// Invalid JSON, compressed bodies and streams pass through unchanged;
// Content-Length is fixed and the ETag kept, so that conditional
// requests keep working.
type Pretty struct {
	// Param is the query parameter. Default: pretty.
	Param string `json:"param,omitempty"`
	// MaxBuffer bounds, in bytes, the bodies held to indent; larger ones
	// pass through. Default: 8 MiB.
	MaxBuffer int64 `json:"max_buffer,omitempty"`
	// MaxRatio bounds the indented body to this many times the original;
	// beyond it the body goes out compact. Default: 8.
	MaxRatio int `json:"max_ratio,omitempty"`
	// MaxOutput bounds the indented body in bytes, whatever the ratio;
	// beyond it the body goes out compact. Default: 64 MiB.
	MaxOutput int64 `json:"max_output,omitempty"`

	pretty *render.Pretty
}

// CaddyModule returns the Caddy module information.
func (Pretty) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.pretty",
		New: func() caddy.Module { return new(Pretty) },
	}
}

// Provision builds the middleware.
func (p *Pretty) Provision(caddy.Context) error {
	p.pretty = &render.Pretty{Param: p.Param, MaxBuffer: int(p.MaxBuffer), MaxRatio: p.MaxRatio, MaxOutput: int(p.MaxOutput)}
	return nil
}

// Validate checks the settings.
func (p *Pretty) Validate() error {
	if p.MaxBuffer < 0 || p.MaxRatio < 0 || p.MaxOutput < 0 {
		return errors.New("pretty: max_buffer, max_ratio and max_output must not be negative")
	}
	return nil
}

// ServeHTTP runs the middleware.
func (p *Pretty) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	return p.pretty.Serve(w, r, next.ServeHTTP)
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Pretty)(nil)
	_ caddy.Validator             = (*Pretty)(nil)
	_ caddyhttp.MiddlewareHandler = (*Pretty)(nil)
)
