package caddymodule

import (
	"strconv"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

func init() {
	httpcaddyfile.RegisterHandlerDirective("docstore", unmarshalHandler[Docstore])
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens:
//
//	docstore {
//		storage bolt [<path>] | storage postgres <dsn>
//		prefix /v1
//		userid_hmac_secret <secret>
//		userid_secret_change allow
//		basicauth on|off
//		default_bucket on|off
//		bucket_create_principals <principal...>
//		permissions_endpoint
//		insecure_allow_all
//		flush_endpoint
//		readonly
//		batch_max_requests <n>
//		paginate_by <n>
//		max_body_size <size>
//		max_depth <n>
//		timestamp_tolerance <duration>
//		cors_origins <origin...>
//		backoff <seconds> [<percentage>]
//		eos <YYYY-MM-DD> [<message> [<url>]]
//		retry_after <seconds>
//		accounts { ... }     (see Plugins.unmarshal)
//		history { ... }
//		attachments { ... }
//	}
func (d *Docstore) UnmarshalCaddyfile(disp *caddyfile.Dispenser) error {
	return unmarshalBlock(disp, func(string) error { return d.unmarshalOption(disp) })
}

func (d *Docstore) unmarshalOption(disp *caddyfile.Dispenser) error {
	var err error
	switch opt := disp.Val(); opt {
	case "storage":
		args := disp.RemainingArgs()
		if len(args) < 1 || len(args) > 2 {
			return disp.ArgErr()
		}
		if err := checkEngine(args[0]); err != nil {
			return disp.Errf("storage: %v", err)
		}
		d.Storage = &StorageConfig{Engine: args[0]}
		if len(args) == 2 {
			d.Storage.Path = args[1]
		}
	case "prefix":
		d.Prefix, err = singleArg(disp)
	case "insecure_allow_all":
		d.InsecureAllowAll, err = true, noArgs(disp)
	case "userid_hmac_secret":
		if !disp.NextArg() {
			return disp.Err("userid_hmac_secret needs a value: `userid_hmac_secret <long random string>` " +
				"(when it is written as an {$ENV} placeholder, that environment variable is empty or unset)")
		}
		disp.Prev()
		d.UserIDHMACSecret, err = singleArg(disp)
	case "userid_secret_change":
		d.UserIDSecretChange, err = singleArg(disp)
		if err == nil && d.UserIDSecretChange != "allow" {
			return disp.Errf("userid_secret_change: want 'allow', got '%s'", d.UserIDSecretChange)
		}
	case "basicauth":
		d.BasicAuth, err = onOffArg(disp)
	case "default_bucket":
		d.DefaultBucket, err = onOffArg(disp)
	case "bucket_create_principals":
		d.BucketCreatePrincipals = disp.RemainingArgs()
		if len(d.BucketCreatePrincipals) == 0 {
			return disp.ArgErr()
		}
	case "permissions_endpoint":
		d.PermissionsEndpoint, err = true, noArgs(disp)
	case "flush_endpoint":
		d.FlushEndpoint, err = true, noArgs(disp)
	case "readonly":
		d.Readonly, err = true, noArgs(disp)
	case "batch_max_requests":
		d.BatchMaxRequests, err = intArg(disp)
	case "paginate_by":
		d.PaginateBy, err = intArg(disp)
	case "max_body_size":
		d.MaxBodySize, err = sizeArg(disp)
	case "max_depth":
		d.MaxDepth, err = intArg(disp)
	case "timestamp_tolerance":
		d.TimestampTolerance, err = durationArg(disp)
	case "cors_origins":
		d.CORSOrigins = disp.RemainingArgs()
		if len(d.CORSOrigins) == 0 {
			return disp.ArgErr()
		}
	case "backoff":
		err = d.unmarshalBackoff(disp)
	case "eos":
		err = d.unmarshalEOS(disp)
	case "retry_after":
		d.RetryAfter, err = intArg(disp)
	case "accounts", "history", "attachments":
		err = d.Plugins.unmarshal(disp, opt)
	default:
		return disp.Errf("unrecognized docstore option '%s'", opt)
	}
	return err
}

func (d *Docstore) unmarshalBackoff(disp *caddyfile.Dispenser) error {
	args := disp.RemainingArgs()
	if len(args) < 1 || len(args) > 2 {
		return disp.ArgErr()
	}
	var err error
	if d.Backoff, err = strconv.Atoi(args[0]); err != nil {
		return disp.Errf("backoff: invalid seconds '%s'", args[0])
	}
	if len(args) == 2 {
		if d.BackoffPercentage, err = strconv.ParseFloat(args[1], 64); err != nil {
			return disp.Errf("backoff: invalid percentage '%s'", args[1])
		}
	}
	return nil
}

func (d *Docstore) unmarshalEOS(disp *caddyfile.Dispenser) error {
	args := disp.RemainingArgs()
	if len(args) < 1 || len(args) > 3 {
		return disp.ArgErr()
	}
	if err := checkEOSDate(args[0]); err != nil {
		return disp.Err(err.Error())
	}
	d.EOS = args[0]
	if len(args) > 1 {
		d.EOSMessage = args[1]
	}
	if len(args) > 2 {
		d.EOSURL = args[2]
	}
	return nil
}

// Interface guards
var _ caddyfile.Unmarshaler = (*Docstore)(nil)
