package caddymodule

import (
	"strconv"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/dustin/go-humanize"
)

// init registers the Caddyfile order of every changegate directive, in one
// place because their relative order matters. Directives listed earlier
// wrap the ones after them: a request meets throttle first, and a response
// leaves through cache_control last. Each module's own file registers its
// directive's parser.
func init() {
	// Rate limiting runs once the user is known (after the auth handlers)
	// and before anything expensive.
	httpcaddyfile.RegisterDirectiveOrder("throttle", httpcaddyfile.After, "forward_auth")
	// Response policy and transforms sit inside encode, so they see the
	// uncompressed JSON: cache_control sees the final status, jsonp wraps
	// what pretty indented, conditional validates the document itself.
	httpcaddyfile.RegisterDirectiveOrder("cache_control", httpcaddyfile.Before, "invoke")
	httpcaddyfile.RegisterDirectiveOrder("jsonp", httpcaddyfile.Before, "invoke")
	httpcaddyfile.RegisterDirectiveOrder("pretty", httpcaddyfile.Before, "invoke")
	httpcaddyfile.RegisterDirectiveOrder("conditional", httpcaddyfile.Before, "invoke")
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
