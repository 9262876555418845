package caddymodule

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/dustin/go-humanize"
)

// init registers the Caddyfile order of every changegate directive, in one
// place because their relative order matters. Directives listed earlier
// wrap the ones after them: a request meets method_override first, and a
// response leaves through conditional last. Each module's own file
// registers its directive's parser.
func init() {
	// The method is rewritten before anything looks at it: auth, rate
	// limits and every method matcher see the overridden one.
	httpcaddyfile.RegisterDirectiveOrder("method_override", httpcaddyfile.After, "method")
	// Rate limiting runs once the user is known (after the auth handlers)
	// and before anything expensive.
	httpcaddyfile.RegisterDirectiveOrder("throttle", httpcaddyfile.After, "forward_auth")
	// conditional sits outside encode, the only place that sees both what
	// clients send (If-Match: "12-gzip", which it strips before encode and
	// the upstream see it) and what encode emits (ETag: "12-gzip", which
	// it turns back into Kinto's "12"); it also judges 304/412 on the
	// final answer, after pretty and jsonp.
	httpcaddyfile.RegisterDirectiveOrder("conditional", httpcaddyfile.Before, "encode")
	// The transforms sit inside encode, so they see uncompressed JSON:
	// jsonp wraps what pretty indented; cache_control, innermost, sees the
	// upstream's own status (jsonp answers errors as 200).
	httpcaddyfile.RegisterDirectiveOrder("jsonp", httpcaddyfile.Before, "invoke")
	httpcaddyfile.RegisterDirectiveOrder("pretty", httpcaddyfile.Before, "invoke")
	httpcaddyfile.RegisterDirectiveOrder("cache_control", httpcaddyfile.Before, "invoke")
	// changes answers its own endpoints and observes writes passing
	// through to docstore or reverse_proxy, so it comes before both.
	httpcaddyfile.RegisterDirectiveOrder("changes", httpcaddyfile.Before, "invoke")
	// docstore answers every request it gets, like file_server.
	httpcaddyfile.RegisterDirectiveOrder("docstore", httpcaddyfile.Before, "file_server")
}

// singleArg reads exactly one argument.
func singleArg(disp *caddyfile.Dispenser) (string, error) {
	args := disp.RemainingArgs()
	if len(args) != 1 {
		return "", disp.ArgErr()
	}
	return args[0], nil
}

// noArgs refuses arguments after a flag option.
func noArgs(disp *caddyfile.Dispenser) error {
	if len(disp.RemainingArgs()) != 0 {
		return disp.ArgErr()
	}
	return nil
}

// intArg reads one non-negative integer argument.
func intArg(disp *caddyfile.Dispenser) (int, error) {
	opt := disp.Val()
	s, err := singleArg(disp)
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, disp.Errf("%s: invalid number '%s'", opt, s)
	}
	return n, nil
}

// sizeArg reads one size argument such as 8MB or 1048576.
func sizeArg(disp *caddyfile.Dispenser) (int64, error) {
	opt := disp.Val()
	s, err := singleArg(disp)
	if err != nil {
		return 0, err
	}
	n, err := humanize.ParseBytes(s)
	if err != nil {
		return 0, disp.Errf("%s: invalid size '%s'", opt, s)
	}
	return int64(n), nil
}

// onOffArg reads one "on" or "off" argument.
func onOffArg(disp *caddyfile.Dispenser) (*bool, error) {
	opt := disp.Val()
	s, err := singleArg(disp)
	if err != nil {
		return nil, err
	}
	switch s {
	case "on":
		return &[]bool{true}[0], nil
	case "off":
		return new(bool), nil
	}
	return nil, disp.Errf("%s: want on or off, got '%s'", opt, s)
}

// unmarshalHandler is the Caddyfile parser of every changegate handler
// directive: a new T set up by its own UnmarshalCaddyfile.
func unmarshalHandler[T any, PT interface {
	*T
	caddyfile.Unmarshaler
	caddyhttp.MiddlewareHandler
}](h httpcaddyfile.Helper) (caddyhttp.MiddlewareHandler, error) {
	handler := PT(new(T))
	err := handler.UnmarshalCaddyfile(h.Dispenser)
	return handler, err
}

// durationArg reads one duration argument such as 10s or 1m.
func durationArg(disp *caddyfile.Dispenser) (caddy.Duration, error) {
	opt := disp.Val()
	s, err := singleArg(disp)
	if err != nil {
		return 0, err
	}
	return parseDuration(disp, opt, s)
}

// parseDuration parses a Caddy duration for option opt.
func parseDuration(disp *caddyfile.Dispenser, opt, s string) (caddy.Duration, error) {
	d, err := caddy.ParseDuration(s)
	if err != nil {
		return 0, disp.Errf("%s: invalid duration '%s'", opt, s)
	}
	return caddy.Duration(d), nil
}

// unmarshalBlock reads a directive that takes no arguments and a block of
// options, calling option with each option's name (the dispenser on it).
func unmarshalBlock(disp *caddyfile.Dispenser, option func(opt string) error) error {
	disp.Next() // directive name
	if disp.NextArg() {
		return disp.ArgErr()
	}
	for disp.NextBlock(0) {
		if err := option(disp.Val()); err != nil {
			return err
		}
	}
	return nil
}
