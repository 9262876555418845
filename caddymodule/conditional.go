package caddymodule

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/changegate/changegate/conditional"
	"github.com/changegate/changegate/render"
)

func init() {
	caddy.RegisterModule(Conditional{})
}

// Conditional handles validators and conditional requests
// (http.handlers.conditional): it keeps the upstream's ETag and
// Last-Modified or computes a strong ETag, evaluates If-Match,
// If-Unmodified-Since, If-None-Match and If-Modified-Since in RFC 9110
// §13.2.2 order on GET and HEAD (304, 412), can require a precondition
// on writes (428), and undoes what encode does to ETags: its suffixes
// are stripped from incoming If-Match and If-None-Match, and Kinto
// routes keep their quoted-integer ETags. Its directive is ordered
// before encode, so that it sees both sides of it.
type Conditional struct {
	KintoRoutes
	// NoHash turns off the strong ETag computed (from the body bytes,
	// with xxHash) for 200 JSON answers to GET and HEAD that have none.
	// It is never computed on Kinto routes.
	NoHash bool `json:"no_hash,omitempty"`
	// MaxBuffer bounds, in bytes, the bodies held to compute an ETag;
	// larger ones get none. Default: 8 MiB.
	MaxBuffer int64 `json:"max_buffer,omitempty"`
	// RequirePrecondition lists methods whose requests must carry
	// If-Match or If-None-Match: others get 428 without reaching the
	// upstream (Eve's ENFORCE_IF_MATCH). Default: none.
	RequirePrecondition []string `json:"require_precondition,omitempty"`

	handler *conditional.Handler
}

// KintoRoutes says which paths are Kinto routes: there, refusals use
// Kinto's JSON error body and ETags stay quoted integers. Every module
// that tells Kinto routes apart (conditional, jsonp, method_override,
// throttle) embeds it, so they share one option name.
type KintoRoutes struct {
	// KintoPrefixes are the path prefixes of Kinto routes (the docstore's
	// prefix, or that of a Kinto server behind reverse_proxy). Default:
	// ["/v1"].
	KintoPrefixes []string `json:"kinto_prefixes,omitempty"`
	// KintoPrefix is the deprecated one-prefix spelling (throttle's
	// former option), still read and added to KintoPrefixes.
	KintoPrefix string `json:"kinto_prefix,omitempty"`
	// NoKinto makes no path a Kinto route.
	NoKinto bool `json:"no_kinto,omitempty"`
}

// prefixes are the configured prefixes, both spellings together.
func (k KintoRoutes) prefixes() []string {
	if k.KintoPrefix == "" {
		return k.KintoPrefixes
	}
	return append(slices.Clip(k.KintoPrefixes), k.KintoPrefix)
}

// routes translates the settings.
func (k KintoRoutes) routes() render.Routes {
	switch {
	case k.NoKinto:
		return render.Routes{}
	case len(k.prefixes()) == 0:
		return render.Routes{Prefixes: []string{render.DefaultKintoPrefix}}
	}
	return render.Routes{Prefixes: k.prefixes()}
}

// validate checks the prefixes are paths. It runs once per config load,
// which is when a deprecated spelling is worth one warning.
func (k KintoRoutes) validate() error {
	for _, p := range k.prefixes() {
		if !strings.HasPrefix(p, "/") {
			return fmt.Errorf("kinto prefix %q must start with /", p)
		}
	}
	if k.KintoPrefix != "" {
		warnDeprecated("kinto_prefix", "kinto_prefixes")
	}
	return nil
}

// warnDeprecated logs that a config uses an option's old name.
func warnDeprecated(old, current string) {
	caddy.Log().Warn("deprecated option name, use the new one", zap.String("option", old), zap.String("use", current))
}

// CaddyModule returns the Caddy module information.
func (Conditional) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.conditional",
		New: func() caddy.Module { return new(Conditional) },
	}
}

// Provision builds the middleware.
func (c *Conditional) Provision(caddy.Context) error {
	c.handler = &conditional.Handler{
		Routes:    c.routes(),
		Hash:      !c.NoHash,
		MaxBuffer: int(c.MaxBuffer),
		Require:   c.RequirePrecondition,
	}
	return nil
}

// Validate checks the settings.
func (c *Conditional) Validate() error {
	if c.MaxBuffer < 0 {
		return errors.New("conditional: max_buffer must not be negative")
	}
	if err := validMethods(c.RequirePrecondition); err != nil {
		return fmt.Errorf("conditional: require_precondition: %w", err)
	}
	return c.validate()
}

// ServeHTTP runs the middleware.
func (c *Conditional) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	return handlerError(c.handler.Serve(w, r, next.ServeHTTP))
}

// handlerError hands our refusals to Caddy's error handling with their
// status, so that handle_errors can render them.
func handlerError(err error) error {
	var refusal *render.Error
	if errors.As(err, &refusal) {
		return caddyhttp.Error(refusal.Status, err)
	}
	return err
}

// validMethods checks method names: upper-case tokens.
func validMethods(methods []string) error {
	for _, m := range methods {
		if m == "" || m != strings.ToUpper(m) || strings.ContainsAny(m, " \t,") {
			return fmt.Errorf("invalid method %q (want an upper-case name such as PUT)", m)
		}
	}
	return nil
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Conditional)(nil)
	_ caddy.Validator             = (*Conditional)(nil)
	_ caddyhttp.MiddlewareHandler = (*Conditional)(nil)
)
