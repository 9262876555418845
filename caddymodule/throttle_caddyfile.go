package caddymodule

import (
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/changegate/changegate/ratelimit"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("throttle", unmarshalHandler[Throttle])
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens:
//
//	throttle [<matcher>] {
//		zone <name> {
//			key <template...>
//			events <n>
//			window <duration>
//			method <METHOD...> <events> <window>
//			match {
//				<matchers...>
//			}
//		}
//		store memory {
//			max_keys <n>
//		}
//		store redis <address> {
//			username <name>
//			password <password>
//			db <n>
//			prefix <prefix>
//			timeout <duration>
//			pipeline
//		}
//		fail_open
//		fail_closed [<retry_after>]
//		format auto|kinto|json|plain|handle_errors
//		kinto_prefixes <path...> | off
//		cors_origins <origin...>
//		disable_ietf_headers
//	}
//
// zone may repeat; windows are whole seconds (10s, 1m, 1h).
func (t *Throttle) UnmarshalCaddyfile(disp *caddyfile.Dispenser) error {
	return unmarshalBlock(disp, func(string) error { return t.unmarshalOption(disp) })
}

func (t *Throttle) unmarshalOption(disp *caddyfile.Dispenser) error {
	var err error
	switch opt := disp.Val(); opt {
	case "zone":
		err = t.unmarshalZone(disp)
	case "store":
		t.Store, err = unmarshalThrottleStore(disp)
	case "fail_open":
		t.FailClosed, err = false, noArgs(disp)
	case "fail_closed":
		t.FailClosed = true
		switch args := disp.RemainingArgs(); len(args) {
		case 0:
		case 1:
			t.FailRetryAfter, err = parseDuration(disp, opt, args[0])
		default:
			return disp.ArgErr()
		}
	case "format":
		if t.Format, err = singleArg(disp); err == nil && !validThrottleFormat(t.Format) {
			return disp.Errf("format: want auto, kinto, json, plain or handle_errors, got '%s'", t.Format)
		}
	case "kinto_prefixes", "kinto_prefix":
		// Checked at Provision, which names the prefix that is wrong.
		err = t.KintoRoutes.unmarshalArgs(disp, opt)
	case "cors_origins":
		t.CORSOrigins = disp.RemainingArgs()
		if len(t.CORSOrigins) == 0 {
			return disp.ArgErr()
		}
	case "disable_ietf_headers":
		t.DisableIETFHeaders, err = true, noArgs(disp)
	default:
		return disp.Errf("unrecognized throttle option '%s'", opt)
	}
	return err
}

func (t *Throttle) unmarshalZone(disp *caddyfile.Dispenser) error {
	name, err := singleArg(disp)
	if err != nil {
		return err
	}
	if _, dup := t.Zones[name]; dup {
		return disp.Errf("zone %s: defined twice", name)
	}
	z := new(ThrottleZone)
	for nesting := disp.Nesting(); disp.NextBlock(nesting); {
		if err := z.unmarshalOption(disp); err != nil {
			return err
		}
	}
	if t.Zones == nil {
		t.Zones = map[string]*ThrottleZone{}
	}
	t.Zones[name] = z
	return nil
}

func (z *ThrottleZone) unmarshalOption(disp *caddyfile.Dispenser) error {
	var err error
	switch opt := disp.Val(); opt {
	case "key":
		if z.Key = disp.RemainingArgs(); len(z.Key) == 0 {
			return disp.ArgErr()
		}
	case "events":
		var n int
		n, err = intArg(disp)
		z.Events = int64(n)
	case "window":
		z.Window, err = durationArg(disp)
	case "method":
		err = z.unmarshalMethod(disp)
	case "match":
		var set caddy.ModuleMap
		if set, err = caddyhttp.ParseCaddyfileNestedMatcherSet(disp); err == nil {
			z.MatcherSetsRaw = append(z.MatcherSetsRaw, set)
		}
	default:
		return disp.Errf("unrecognized throttle zone option '%s'", opt)
	}
	return err
}

// unmarshalMethod reads "method <METHOD...> <events> <window>".
func (z *ThrottleZone) unmarshalMethod(disp *caddyfile.Dispenser) error {
	args := disp.RemainingArgs()
	if len(args) < 3 {
		return disp.ArgErr()
	}
	n := len(args)
	events, err := strconv.ParseInt(args[n-2], 10, 64)
	if err != nil || events < 1 {
		return disp.Errf("method: invalid number of events '%s'", args[n-2])
	}
	window, err := parseDuration(disp, "method", args[n-1])
	if err != nil {
		return err
	}
	if z.Methods == nil {
		z.Methods = map[string]ThrottleLimit{}
	}
	for _, m := range args[:n-2] {
		z.Methods[m] = ThrottleLimit{Events: events, Window: window}
	}
	return nil
}

func unmarshalThrottleStore(disp *caddyfile.Dispenser) (*ThrottleStore, error) {
	args := disp.RemainingArgs()
	s := new(ThrottleStore)
	switch {
	case len(args) == 1 && args[0] == "memory":
		s.Type = "memory"
	case len(args) == 2 && args[0] == "redis":
		s.Type, s.Address = "redis", args[1]
		// A placeholder is checked once expanded, at provision.
		if !strings.Contains(s.Address, "{") {
			if err := ratelimit.CheckRedisAddress(s.Address); err != nil {
				return nil, disp.Errf("store redis: %v", err)
			}
		}
	default:
		return nil, disp.Errf("store: want 'memory' or 'redis <address>'")
	}
	for nesting := disp.Nesting(); disp.NextBlock(nesting); {
		if err := s.unmarshalOption(disp); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *ThrottleStore) unmarshalOption(disp *caddyfile.Dispenser) error {
	var err error
	opt := disp.Val()
	// max_keys is the memory store's only option, and the redis store's
	// options are all the others.
	if (opt == "max_keys") == (s.Type == "redis") {
		return disp.Errf("unrecognized %s store option '%s'", s.Type, opt)
	}
	switch opt {
	case "max_keys":
		if s.MaxKeys, err = intArg(disp); err == nil && s.MaxKeys < 1 {
			return disp.Errf("max_keys: must be at least 1")
		}
	case "username":
		s.Username, err = singleArg(disp)
	case "password":
		s.Password, err = singleArg(disp)
	case "db":
		s.DB, err = intArg(disp)
	case "prefix":
		s.Prefix, err = singleArg(disp)
	case "timeout":
		s.Timeout, err = durationArg(disp)
	case "pipeline":
		s.Pipeline, err = true, noArgs(disp)
	default:
		return disp.Errf("unrecognized redis store option '%s'", opt)
	}
	return err
}

// validThrottleFormat tells the values of the format option.
func validThrottleFormat(f string) bool {
	if f == formatHandleErrors {
		return true
	}
	_, err := ratelimit.ParseFormat(f)
	return err == nil
}

// Interface guards
var _ caddyfile.Unmarshaler = (*Throttle)(nil)
