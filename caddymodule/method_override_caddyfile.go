package caddymodule

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("method_override", unmarshalHandler[MethodOverride])
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens:
//
//	method_override [<matcher>] [<method...>] {
//		header <name>
//		allow <method...>
//		kinto_prefixes <prefix...> | off
//	}
//
// Methods given on the directive line are the allowlist, as with allow.
func (m *MethodOverride) UnmarshalCaddyfile(disp *caddyfile.Dispenser) error {
	disp.Next() // directive name
	m.Allow = disp.RemainingArgs()
	for disp.NextBlock(0) {
		var err error
		switch opt := disp.Val(); opt {
		case "header":
			m.Header, err = singleArg(disp)
		case "allow":
			if m.Allow = disp.RemainingArgs(); len(m.Allow) == 0 {
				return disp.ArgErr()
			}
		case "kinto_prefixes", "kinto_prefix":
			err = m.KintoRoutes.unmarshal(disp, opt)
		default:
			return disp.Errf("unrecognized method_override option '%s'", opt)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Interface guards
var _ caddyfile.Unmarshaler = (*MethodOverride)(nil)
