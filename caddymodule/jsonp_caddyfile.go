package caddymodule

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("jsonp", unmarshalHandler[JSONP])
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens:
//
//	jsonp [<matcher>] {
//		param <name>
//		max_length <n>
//		allow_authenticated
//		max_buffer <size>
//		kinto_prefixes <prefix...> | off
//	}
func (j *JSONP) UnmarshalCaddyfile(disp *caddyfile.Dispenser) error {
	return unmarshalBlock(disp, func(opt string) error {
		var err error
		switch opt {
		case "param":
			j.Param, err = singleArg(disp)
		case "max_length":
			j.MaxLength, err = intArg(disp)
		case "allow_authenticated":
			j.AllowAuthenticated, err = true, noArgs(disp)
		case "max_buffer":
			j.MaxBuffer, err = sizeArg(disp)
		case "kinto_prefixes", "kinto_prefix":
			err = j.KintoRoutes.unmarshal(disp, opt)
		default:
			return disp.Errf("unrecognized jsonp option '%s'", opt)
		}
		return err
	})
}

// Interface guards
var _ caddyfile.Unmarshaler = (*JSONP)(nil)
