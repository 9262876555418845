package caddymodule

import (
	"errors"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/changegate/changegate/cache"
)

func init() {
	caddy.RegisterModule(CacheControl{})
}

// Default lifetimes, those of Kinto's changes endpoints
// (remote-settings): one minute, an hour when the cache is busted.
const (
	defaultMaxAge       = caddy.Duration(time.Minute)
	defaultBustedMaxAge = caddy.Duration(time.Hour)
)

// CacheControl sets the Cache-Control policy of answers to GET and HEAD
// (http.handlers.cache_control), as Kinto's cache_expires settings do:
// a default policy, and a longer one when the request carries the
// cache-busting query parameter. Only 2xx and 304 answers get it;
// Expires follows max-age; authenticated requests get private
// directives; Vary is merged. Several cache_control directives with
// different matchers make per-route rules: the most specific one that
// matches applies.
type CacheControl struct {
	CachePolicy
	// Busted overrides directives of the default policy for requests
	// with the cache-busting parameter. Default: max_age of one hour.
	Busted *CachePolicy `json:"busted,omitempty"`
	// BustParam is the cache-busting query parameter. Its values "0" and
	// "9999…" do not bust (Kinto's rule). Default: _expected.
	BustParam string `json:"bust_param,omitempty"`
	// Override replaces a Cache-Control (and Expires) the upstream set;
	// by default it is kept.
	Override bool `json:"override,omitempty"`
	// AuthenticatedPublic keeps the policy as it is for authenticated
	// requests (Authorization header, or a user authenticated by Caddy),
	// instead of making it private.
	AuthenticatedPublic bool `json:"authenticated_public,omitempty"`
	// Vary lists request headers to add to the Vary header.
	Vary []string `json:"vary,omitempty"`

	policy *cache.Policy
}

// CachePolicy is a set of Cache-Control directives. Durations are sent
// in whole seconds.
type CachePolicy struct {
	// MaxAge is max-age; Expires is set to match. Default (of the
	// default policy): one minute, unless no_store.
	MaxAge *caddy.Duration `json:"max_age,omitempty"`
	// SMaxAge is s-maxage, the lifetime in shared caches (CDNs).
	SMaxAge *caddy.Duration `json:"s_maxage,omitempty"`
	// StaleWhileRevalidate is stale-while-revalidate (RFC 5861).
	StaleWhileRevalidate *caddy.Duration `json:"stale_while_revalidate,omitempty"`
	// StaleIfError is stale-if-error (RFC 5861).
	StaleIfError *caddy.Duration `json:"stale_if_error,omitempty"`
	// Public adds public; Private adds private (and wins).
	Public  bool `json:"public,omitempty"`
	Private bool `json:"private,omitempty"`
	// NoStore sends no-store alone, and no Expires.
	NoStore bool `json:"no_store,omitempty"`
	// MustRevalidate adds must-revalidate.
	MustRevalidate bool `json:"must_revalidate,omitempty"`
	// Immutable adds immutable (RFC 8246), for cache-busted URLs.
	Immutable bool `json:"immutable,omitempty"`
}

// directives translates the policy.
func (p CachePolicy) directives() cache.Directives {
	return cache.Directives{
		MaxAge: duration(p.MaxAge), SMaxAge: duration(p.SMaxAge),
		StaleWhileRevalidate: duration(p.StaleWhileRevalidate), StaleIfError: duration(p.StaleIfError),
		Public: p.Public, Private: p.Private, NoStore: p.NoStore,
		MustRevalidate: p.MustRevalidate, Immutable: p.Immutable,
	}
}

func duration(d *caddy.Duration) *time.Duration {
	if d == nil {
		return nil
	}
	td := time.Duration(*d)
	return &td
}

// validate refuses negative lifetimes.
func (p CachePolicy) validate() error {
	for _, d := range []*caddy.Duration{p.MaxAge, p.SMaxAge, p.StaleWhileRevalidate, p.StaleIfError} {
		if d != nil && *d < 0 {
			return errors.New("cache_control: durations must not be negative")
		}
	}
	return nil
}

// CaddyModule returns the Caddy module information.
func (CacheControl) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.cache_control",
		New: func() caddy.Module { return new(CacheControl) },
	}
}

// Provision fills in the defaults and prepares the header values.
func (c *CacheControl) Provision(caddy.Context) error {
	def := c.CachePolicy
	if def.MaxAge == nil && !def.NoStore {
		d := defaultMaxAge
		def.MaxAge = &d
	}
	busted := CachePolicy{}
	if c.Busted != nil {
		busted = *c.Busted
	} else {
		d := defaultBustedMaxAge
		busted.MaxAge = &d
	}
	c.policy = &cache.Policy{
		Default:             def.directives(),
		Busted:              busted.directives(),
		BustParam:           c.BustParam,
		Override:            c.Override,
		AuthenticatedPublic: c.AuthenticatedPublic,
		Vary:                c.Vary,
		Authenticated:       authenticatedUser,
	}
	c.policy.Prepare()
	return nil
}

// Validate checks the settings.
func (c *CacheControl) Validate() error {
	if err := c.CachePolicy.validate(); err != nil {
		return err
	}
	if c.Busted != nil {
		return c.Busted.validate()
	}
	return nil
}

// ServeHTTP runs the middleware.
func (c *CacheControl) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	return c.policy.Serve(w, r, next.ServeHTTP)
}

// authenticatedUser reports whether an authentication handler set
// {http.auth.user.id} for this request.
func authenticatedUser(r *http.Request) bool {
	return caddyUser(r) != ""
}

// Interface guards
var (
	_ caddy.Provisioner           = (*CacheControl)(nil)
	_ caddy.Validator             = (*CacheControl)(nil)
	_ caddyhttp.MiddlewareHandler = (*CacheControl)(nil)
)
