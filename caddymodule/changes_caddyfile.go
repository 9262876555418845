package caddymodule

import (
	"regexp"
	"strconv"

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
