package caddymodule

import (
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/changegate/changegate/docstore"
)

// Plugins are the docstore's counterparts of Kinto's optional plugins.
type Plugins struct {
	// Accounts enables kinto.plugins.accounts: /v1/accounts, and Basic
	// authentication against the stored accounts before basicauth.
	Accounts *AccountsOptions `json:"accounts,omitempty"`
	// History enables kinto.plugins.history: /v1/buckets/{bid}/history
	// and collection snapshots.
	History *HistoryOptions `json:"history,omitempty"`
	// Attachments enables the kinto-attachment API: files attached to
	// records, stored in a local folder and served under base_url's path.
	Attachments *AttachmentsOptions `json:"attachments,omitempty"`
}

// AttachmentsOptions are the attachments settings (kinto-attachment's,
// for a local folder).
type AttachmentsOptions struct {
	// Folder is where files are stored. Required.
	Folder string `json:"folder,omitempty"`
	// BaseURL is the files' public URL. Required.
	BaseURL string `json:"base_url,omitempty"`
	// MaxSize bounds a file, in bytes. Default: 10 MiB.
	MaxSize int64 `json:"max_size,omitempty"`
	// Extensions allowed ("any" by default; "default", "images+pdf"...).
	Extensions string `json:"extensions,omitempty"`
	// Mimetypes allow-lists media types ("image/*"); none means any.
	Mimetypes []string `json:"mimetypes,omitempty"`
	// Gzip stores files gzipped, with the original's metadata.
	Gzip bool `json:"gzip,omitempty"`
	// KeepOldFiles keeps replaced files on disk (no longer served).
	KeepOldFiles bool `json:"keep_old_files,omitempty"`
}

// HistoryOptions are the history settings.
type HistoryOptions struct {
	// ExcludeResources are bucket, collection or object URIs whose
	// changes are not recorded (history.exclude_resources).
	ExcludeResources []string `json:"exclude_resources,omitempty"`
	// MaxEntries bounds the entries kept per bucket (0: no bound).
	MaxEntries int `json:"max_entries,omitempty"`
}

// AccountsOptions are the accounts settings, named after Kinto's.
type AccountsOptions struct {
	// CreatePrincipals may create accounts (account_create_principals).
	CreatePrincipals []string `json:"create_principals,omitempty"`
	// WritePrincipals administer every account (account_write_principals).
	WritePrincipals []string `json:"write_principals,omitempty"`
	// ReadPrincipals may read every account (account_read_principals).
	ReadPrincipals []string `json:"read_principals,omitempty"`
	// CacheTTL is how long verified credentials skip bcrypt
	// (account_cache_ttl_seconds). Default: 30s.
	CacheTTL caddy.Duration `json:"cache_ttl,omitempty"`
	// BcryptCost is the cost of new password hashes. Default: 10.
	BcryptCost int `json:"bcrypt_cost,omitempty"`
}

// apply copies the plugin settings into the docstore configuration.
func (p Plugins) apply(cfg *docstore.Config) {
	if a := p.Accounts; a != nil {
		cfg.Accounts = &docstore.AccountsConfig{
			CreatePrincipals: a.CreatePrincipals,
			WritePrincipals:  a.WritePrincipals,
			ReadPrincipals:   a.ReadPrincipals,
			CacheTTL:         time.Duration(a.CacheTTL),
			BcryptCost:       a.BcryptCost,
		}
	}
	if hi := p.History; hi != nil {
		cfg.History = &docstore.HistoryConfig{ExcludeResources: hi.ExcludeResources, MaxEntries: hi.MaxEntries}
	}
	if a := p.Attachments; a != nil {
		cfg.Attachments = &docstore.AttachmentsConfig{Folder: a.Folder, BaseURL: a.BaseURL, MaxSize: a.MaxSize,
			Extensions: a.Extensions, Mimetypes: a.Mimetypes, Gzip: a.Gzip, KeepOldFiles: a.KeepOldFiles}
	}
}
