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
//		max_ratio <n>
//		max_output <size>
//	}
func (p *Pretty) UnmarshalCaddyfile(disp *caddyfile.Dispenser) error {
	return unmarshalBlock(disp, func(opt string) error {
		var err error
		switch opt {
		case "param":
			p.Param, err = singleArg(disp)
		case "max_buffer":
			p.MaxBuffer, err = sizeArg(disp)
		case "max_ratio":
			p.MaxRatio, err = intArg(disp)
		case "max_output":
			p.MaxOutput, err = sizeArg(disp)
		default:
			return disp.Errf("unrecognized pretty option '%s'", opt)
		}
		return err
	})
}

// Interface guards
var _ caddyfile.Unmarshaler = (*Pretty)(nil)
