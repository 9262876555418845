package caddymodule

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/changegate/changegate/conditional"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("conditional", unmarshalHandler[Conditional])
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens:
//
//	conditional [<matcher>] {
//		kinto_prefix <prefix...> | off
//		hash on|off
//		max_buffer <size>
//		require_precondition [<method...>]
//	}
//
// kinto_prefix defaults to /v1; require_precondition without methods
// means PUT PATCH DELETE.
func (c *Conditional) UnmarshalCaddyfile(disp *caddyfile.Dispenser) error {
	return unmarshalBlock(disp, func(opt string) error {
		var err error
		switch opt {
		case "kinto_prefix":
			err = c.KintoRoutes.unmarshal(disp)
		case "hash":
			var on *bool
			if on, err = onOffArg(disp); err == nil {
				c.NoHash = !*on
			}
		case "max_buffer":
			c.MaxBuffer, err = sizeArg(disp)
		case "require_precondition":
			c.RequirePrecondition = disp.RemainingArgs()
			if len(c.RequirePrecondition) == 0 {
				c.RequirePrecondition = conditional.DefaultRequire
			}
		default:
			return disp.Errf("unrecognized conditional option '%s'", opt)
		}
		return err
	})
}

// unmarshal reads `kinto_prefix <prefix...>` or `kinto_prefix off`.
func (k *KintoRoutes) unmarshal(disp *caddyfile.Dispenser) error {
	args := disp.RemainingArgs()
	switch {
	case len(args) == 0:
		return disp.ArgErr()
	case len(args) == 1 && args[0] == "off":
		k.NoKinto, k.KintoPrefixes = true, nil
		return nil
	}
	for _, a := range args {
		if a == "" || a[0] != '/' {
			return disp.Errf("kinto_prefix: '%s' is not a path", a)
		}
	}
	k.KintoPrefixes = args
	return nil
}

// Interface guards
var _ caddyfile.Unmarshaler = (*Conditional)(nil)
