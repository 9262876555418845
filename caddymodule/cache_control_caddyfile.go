package caddymodule

import (
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("cache_control", unmarshalHandler[CacheControl])
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens:
//
//	cache_control [<matcher>] [<max_age>] {
//		max_age <duration>
//		s_maxage <duration>
//		stale_while_revalidate <duration>
//		stale_if_error <duration>
//		public | private
//		no_store
//		must_revalidate
//		immutable
//		busted {
//			<any of the options above>
//		}
//		bust_param <name>
//		override
//		authenticated_public
//		vary <header...>
//	}
//
// Durations are Caddy durations (90s, 1h, 1d) or whole seconds.
func (c *CacheControl) UnmarshalCaddyfile(disp *caddyfile.Dispenser) error {
	disp.Next() // directive name
	if disp.NextArg() {
		d, err := lifetimeValue(disp, "max_age", disp.Val())
		if err != nil {
			return err
		}
		c.MaxAge = &d
		if disp.NextArg() {
			return disp.ArgErr()
		}
	}
	for disp.NextBlock(0) {
		if err := c.unmarshalOption(disp); err != nil {
			return err
		}
	}
	return nil
}

func (c *CacheControl) unmarshalOption(disp *caddyfile.Dispenser) error {
	var err error
	switch disp.Val() {
	case "busted":
		if disp.NextArg() {
			return disp.ArgErr()
		}
		c.Busted = new(CachePolicy)
		for nesting := disp.Nesting(); disp.NextBlock(nesting); {
			if err := c.Busted.unmarshalOption(disp); err != nil {
				return err
			}
		}
	case "bust_param":
		c.BustParam, err = singleArg(disp)
	case "override":
		c.Override, err = true, noArgs(disp)
	case "authenticated_public":
		c.AuthenticatedPublic, err = true, noArgs(disp)
	case "vary":
		if c.Vary = disp.RemainingArgs(); len(c.Vary) == 0 {
			return disp.ArgErr()
		}
	default:
		return c.CachePolicy.unmarshalOption(disp)
	}
	return err
}

// unmarshalOption reads one Cache-Control directive option.
func (p *CachePolicy) unmarshalOption(disp *caddyfile.Dispenser) error {
	var err error
	switch opt := disp.Val(); opt {
	case "max_age":
		p.MaxAge, err = lifetimeArg(disp)
	case "s_maxage":
		p.SMaxAge, err = lifetimeArg(disp)
	case "stale_while_revalidate":
		p.StaleWhileRevalidate, err = lifetimeArg(disp)
	case "stale_if_error":
		p.StaleIfError, err = lifetimeArg(disp)
	case "public":
		p.Public, err = true, noArgs(disp)
	case "private":
		p.Private, err = true, noArgs(disp)
	case "no_store":
		p.NoStore, err = true, noArgs(disp)
	case "must_revalidate":
		p.MustRevalidate, err = true, noArgs(disp)
	case "immutable":
		p.Immutable, err = true, noArgs(disp)
	default:
		return disp.Errf("unrecognized cache_control option '%s'", opt)
	}
	return err
}

// lifetimeArg reads one lifetime argument.
func lifetimeArg(disp *caddyfile.Dispenser) (*caddy.Duration, error) {
	opt := disp.Val()
	s, err := singleArg(disp)
	if err != nil {
		return nil, err
	}
	d, err := lifetimeValue(disp, opt, s)
	return &d, err
}

// lifetimeValue parses a Caddy duration, or whole seconds as Kinto's
// settings give them (unlike durationArg, which wants a unit).
func lifetimeValue(disp *caddyfile.Dispenser, opt, s string) (caddy.Duration, error) {
	if n, err := strconv.Atoi(s); err == nil && n >= 0 {
		return caddy.Duration(time.Duration(n) * time.Second), nil
	}
	d, err := caddy.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, disp.Errf("%s: invalid duration '%s'", opt, s)
	}
	return caddy.Duration(d), nil
}

// Interface guards
var _ caddyfile.Unmarshaler = (*CacheControl)(nil)
