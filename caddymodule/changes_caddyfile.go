package caddymodule

import (
	"encoding/base64"
	"regexp"
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("changes", unmarshalHandler[Changes])
}

// recordCacheOption is a Kinto TTL setting used as a subdirective:
// [<bid>.[<cid>.]]record_cache_[minimum_|maximum_]expires_seconds.
var recordCacheOption = regexp.MustCompile(`^(?:[A-Za-z0-9_-]+\.){0,2}record_cache_(?:minimum_|maximum_)?expires_seconds$`)

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens. Options
// carry the names of the Kinto settings they mirror; the TTL settings
// are written as in kinto.ini, with the bucket and collection in the
// name:
//
//	changes {
//		docstore <storage path>
//		prefix /v1
//		resources <uri...>
//		excluded_collections <uri...>
//		http_host <host>
//		http_scheme <scheme>
//		changes_http_host <host>
//		since_max_age_days <days|-1>
//		since_max_age_redirect_ttl_seconds <seconds|-1>
//		record_cache_expires_seconds <seconds>
//		<bid>.record_cache_expires_seconds <seconds>
//		<bid>.<cid>.record_cache_expires_seconds <seconds>
//		<bid>.<cid>.record_cache_minimum_expires_seconds <seconds>
//		<bid>.<cid>.record_cache_maximum_expires_seconds <seconds>
//		paginate_by <n>
//		storage_max_fetch_size <n>
//		push_broadcast_min_debounce_interval_seconds <seconds>
//		cache_size <size>
//		feed_timeout_max <duration>
//		heartbeat <duration>
//		monitor_visibility readable|all
//		upstream <url> {
//			poll_interval <duration>
//			poll_concurrency <n>
//			relist_interval <duration>
//			timeout <duration>
//			max_backoff <duration>
//			auth basic <user> <password> | bearer <token> | header <value>
//			forward_headers <header...>
//			cors_origins <origin...>
//			auth_cache_ttl <duration>
//			max_collections <n>
//			max_body <size>
//			max_observed_body <size>
//			timestamp_tolerance <duration>
//		}
//	}
func (c *Changes) UnmarshalCaddyfile(disp *caddyfile.Dispenser) error {
	return unmarshalBlock(disp, func(string) error { return c.unmarshalOption(disp) })
}

func (c *Changes) unmarshalOption(disp *caddyfile.Dispenser) error {
	var err error
	switch opt := disp.Val(); opt {
	case "docstore":
		c.Docstore, err = singleArg(disp)
	case "prefix":
		c.Prefix, err = singleArg(disp)
	case "resources":
		c.Resources, err = uriArgs(disp)
	case "excluded_collections":
		c.ExcludedCollections, err = uriArgs(disp)
	case "http_host":
		c.HTTPHost, err = singleArg(disp)
	case "http_scheme":
		c.HTTPScheme, err = singleArg(disp)
	case "changes_http_host":
		c.ChangesHTTPHost, err = singleArg(disp)
	case "since_max_age_days":
		c.SinceMaxAgeDays, err = signedArg(disp)
	case "since_max_age_redirect_ttl_seconds":
		c.SinceMaxAgeRedirectTTLSeconds, err = signedArg(disp)
	case "paginate_by":
		c.PaginateBy, err = intArg(disp)
	case "storage_max_fetch_size":
		c.StorageMaxFetchSize, err = intArg(disp)
	case "push_broadcast_min_debounce_interval_seconds":
		var n int
		n, err = intArg(disp)
		c.PushBroadcastMinDebounceIntervalSeconds = &n
	case "cache_size":
		c.CacheSize, err = sizeArg(disp)
	case "feed_timeout_max":
		c.FeedTimeoutMax, err = durationArg(disp)
	case "heartbeat":
		c.Heartbeat, err = durationArg(disp)
	case "monitor_visibility":
		c.MonitorVisibility, err = singleArg(disp)
		if err == nil && c.MonitorVisibility != "readable" && c.MonitorVisibility != "all" {
			return disp.Errf("monitor_visibility: want readable or all, got '%s'", c.MonitorVisibility)
		}
	case "upstream":
		c.Upstream, err = unmarshalUpstream(disp)
	default:
		if !recordCacheOption.MatchString(opt) {
			return disp.Errf("unrecognized changes option '%s'", opt)
		}
		var n int
		if n, err = intArg(disp); err == nil {
			if c.RecordCache == nil {
				c.RecordCache = map[string]int{}
			}
			c.RecordCache[opt] = n
		}
	}
	return err
}

// unmarshalUpstream reads `upstream <url> [{ options }]`.
func unmarshalUpstream(disp *caddyfile.Dispenser) (*ChangesUpstream, error) {
	u := &ChangesUpstream{}
	var err error
	if u.URL, err = singleArg(disp); err != nil {
		return nil, err
	}
	for nesting := disp.Nesting(); disp.NextBlock(nesting); {
		switch opt := disp.Val(); opt {
		case "poll_interval":
			u.PollInterval, err = durationArg(disp)
		case "poll_concurrency":
			u.PollConcurrency, err = intArg(disp)
		case "relist_interval":
			u.RelistInterval, err = durationArg(disp)
		case "timeout":
			u.Timeout, err = durationArg(disp)
		case "max_backoff":
			u.MaxBackoff, err = durationArg(disp)
		case "auth":
			u.Authorization, err = authArg(disp)
		case "forward_headers":
			u.ForwardHeaders = disp.RemainingArgs()
			if len(u.ForwardHeaders) == 0 {
				err = disp.ArgErr()
			}
		case "cors_origins":
			u.CORSOrigins = disp.RemainingArgs()
			if len(u.CORSOrigins) == 0 {
				err = disp.ArgErr()
			}
		case "auth_cache_ttl":
			var d caddy.Duration
			d, err = durationArg(disp)
			u.AuthCacheTTL = &d
		case "max_collections":
			u.MaxCollections, err = intArg(disp)
		case "max_body":
			u.MaxBody, err = sizeArg(disp)
		case "max_observed_body":
			u.MaxObservedBody, err = sizeArg(disp)
		case "timestamp_tolerance":
			u.TimestampTolerance, err = durationArg(disp)
		default:
			return nil, disp.Errf("unrecognized changes upstream option '%s'", opt)
		}
		if err != nil {
			return nil, err
		}
	}
	return u, nil
}

// authArg reads the service credentials as an Authorization value:
// basic <user> <password>, bearer <token> or header <value>.
func authArg(disp *caddyfile.Dispenser) (string, error) {
	args := disp.RemainingArgs()
	switch {
	case len(args) == 3 && args[0] == "basic":
		return "Basic " + base64.StdEncoding.EncodeToString([]byte(args[1]+":"+args[2])), nil
	case len(args) == 2 && args[0] == "bearer":
		return "Bearer " + args[1], nil
	case len(args) == 2 && args[0] == "header":
		return args[1], nil
	}
	return "", disp.Errf("auth: want basic <user> <password>, bearer <token> or header <value>")
}

// uriArgs reads one or more resource URIs.
func uriArgs(disp *caddyfile.Dispenser) ([]string, error) {
	args := disp.RemainingArgs()
	if len(args) == 0 {
		return nil, disp.ArgErr()
	}
	return args, nil
}

// signedArg reads one integer that may be -1 (Kinto's "disabled").
func signedArg(disp *caddyfile.Dispenser) (*int, error) {
	opt := disp.Val()
	s, err := singleArg(disp)
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < -1 {
		return nil, disp.Errf("%s: invalid number '%s' (want -1 or more)", opt, s)
	}
	return &n, nil
}

// Interface guards
var _ caddyfile.Unmarshaler = (*Changes)(nil)
