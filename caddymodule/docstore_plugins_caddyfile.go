package caddymodule

import (
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// unmarshal reads one plugin block of the docstore directive:
//
//	accounts {
//		create_principals <principal...>
//		write_principals <principal...>
//		read_principals <principal...>
//		cache_ttl <duration>
//		bcrypt_cost <n>
//	}
//	history {
//		exclude_resources <uri...>
//		max_entries <n>
//	}
//	attachments {
//		folder <dir>
//		base_url <url>
//		max_size <size>
//		extensions <groups>
//		mimetypes <type...>
//		gzip
//		keep_old_files
//	}
func (p *Plugins) unmarshal(disp *caddyfile.Dispenser, name string) error {
	if disp.NextArg() {
		return disp.ArgErr()
	}
	switch name {
	case "accounts":
		p.Accounts = &AccountsOptions{}
		return unmarshalNested(disp, p.Accounts.unmarshalOption)
	case "history":
		p.History = &HistoryOptions{}
		return unmarshalNested(disp, p.History.unmarshalOption)
	case "attachments":
		p.Attachments = &AttachmentsOptions{}
		return unmarshalNested(disp, p.Attachments.unmarshalOption)
	}
	return disp.Errf("unrecognized docstore plugin '%s'", name)
}

// unmarshalNested reads the block that follows the current token.
func unmarshalNested(disp *caddyfile.Dispenser, option func(*caddyfile.Dispenser, string) error) error {
	for nesting := disp.Nesting(); disp.NextBlock(nesting); {
		if err := option(disp, disp.Val()); err != nil {
			return err
		}
	}
	return nil
}

// principalsArg reads one or more principals (or URIs).
func principalsArg(disp *caddyfile.Dispenser) ([]string, error) {
	args := disp.RemainingArgs()
	if len(args) == 0 {
		return nil, disp.ArgErr()
	}
	return args, nil
}

func (a *AccountsOptions) unmarshalOption(disp *caddyfile.Dispenser, opt string) error {
	var err error
	switch opt {
	case "create_principals":
		a.CreatePrincipals, err = principalsArg(disp)
	case "write_principals":
		a.WritePrincipals, err = principalsArg(disp)
	case "read_principals":
		a.ReadPrincipals, err = principalsArg(disp)
	case "cache_ttl":
		a.CacheTTL, err = durationArg(disp)
	case "bcrypt_cost":
		a.BcryptCost, err = intArg(disp)
	default:
		return disp.Errf("unrecognized accounts option '%s'", opt)
	}
	return err
}

func (hi *HistoryOptions) unmarshalOption(disp *caddyfile.Dispenser, opt string) error {
	var err error
	switch opt {
	case "exclude_resources":
		hi.ExcludeResources, err = principalsArg(disp)
	case "max_entries":
		hi.MaxEntries, err = intArg(disp)
	default:
		return disp.Errf("unrecognized history option '%s'", opt)
	}
	return err
}

func (a *AttachmentsOptions) unmarshalOption(disp *caddyfile.Dispenser, opt string) error {
	var err error
	switch opt {
	case "folder":
		a.Folder, err = singleArg(disp)
	case "base_url":
		a.BaseURL, err = singleArg(disp)
	case "max_size":
		a.MaxSize, err = sizeArg(disp)
	case "extensions":
		a.Extensions, err = singleArg(disp)
	case "mimetypes":
		a.Mimetypes, err = principalsArg(disp)
	case "gzip":
		a.Gzip, err = true, noArgs(disp)
	case "keep_old_files":
		a.KeepOldFiles, err = true, noArgs(disp)
	default:
		return disp.Errf("unrecognized attachments option '%s'", opt)
	}
	return err
}
