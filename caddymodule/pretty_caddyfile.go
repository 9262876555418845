package caddymodule

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("pretty", unmarshalHandler[Pretty])
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens:
//
//	pretty [<matcher>] {
//		param <name>
//		max_buffer <size>
//	}
func (p *Pretty) UnmarshalCaddyfile(disp *caddyfile.Dispenser) error {
	disp.Next() // directive name
	if disp.NextArg() {
		return disp.ArgErr()
	}
	for disp.NextBlock(0) {
		var err error
		switch opt := disp.Val(); opt {
		case "param":
			p.Param, err = singleArg(disp)
		case "max_buffer":
			p.MaxBuffer, err = sizeArg(disp)
		default:
			return disp.Errf("unrecognized pretty option '%s'", opt)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Interface guards
var _ caddyfile.Unmarshaler = (*Pretty)(nil)
