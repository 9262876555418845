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
//		kinto_prefixes <prefix...> | off
//		hash on|off
//		max_buffer <size>
//		require_precondition [<method...>]
//	}
//
// kinto_prefixes defaults to /v1 (kinto_prefix is its deprecated alias);
// require_precondition without methods
// means PUT PATCH DELETE.
func (c *Conditional) UnmarshalCaddyfile(disp *caddyfile.Dispenser) error {
	return unmarshalBlock(disp, func(opt string) error {
		var err error
		switch opt {
		case "kinto_prefixes", "kinto_prefix":
			err = c.KintoRoutes.unmarshal(disp, opt)
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

// unmarshal reads `kinto_prefixes <prefix...>` or `kinto_prefixes off`,
// opt being the option's name as written.
func (k *KintoRoutes) unmarshal(disp *caddyfile.Dispenser, opt string) error {
	if err := k.unmarshalArgs(disp, opt); err != nil {
		return err
	}
	for _, a := range k.KintoPrefixes {
		if a == "" || a[0] != '/' {
			return disp.Errf("%s: '%s' is not a path", opt, a)
		}
	}
	return nil
}

// unmarshalArgs reads the prefixes without checking them; both
// spellings write kinto_prefixes.
func (k *KintoRoutes) unmarshalArgs(disp *caddyfile.Dispenser, opt string) error {
	if opt == "kinto_prefix" {
		warnDeprecated(opt, "kinto_prefixes")
	}
	args := disp.RemainingArgs()
	switch {
	case len(args) == 0:
		return disp.ArgErr()
	case len(args) == 1 && args[0] == "off":
		k.NoKinto, k.KintoPrefixes = true, nil
		return nil
	}
	k.NoKinto, k.KintoPrefixes = false, args
	return nil
}

// Interface guards
var _ caddyfile.Unmarshaler = (*Conditional)(nil)
