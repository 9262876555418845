package caddymodule

import (
	"fmt"
	"net/http"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/changegate/changegate/docstore"
)

func init() {
	caddy.RegisterModule(Docstore{})
}

// Docstore is the embedded Kinto-compatible document API
// (http.handlers.docstore). It answers every request it receives: put it
// last in a route, or under `handle /v1/*`.
type Docstore struct {
	// Storage selects the engine and where it keeps its data.
	Storage *StorageConfig `json:"storage,omitempty"`
	// Prefix is the API version prefix. Default: /v1.
	Prefix string `json:"prefix,omitempty"`
	// InsecureAllowAll turns permission checks off: any client, even
	// anonymous, may read and write anything. For throw-away servers.
	InsecureAllowAll bool `json:"insecure_allow_all,omitempty"`
	// UserIDHMACSecret keys basicauth user ids and default bucket ids
	// (Kinto's userid_hmac_secret): at least 16 bytes, placeholders such
	// as {env.NAME} or {file./path} resolved at start. Default: a random
	// secret generated on first start and kept, mode 0600, in the file
	// <storage path>.userid_secret.
	UserIDHMACSecret string `json:"userid_hmac_secret,omitempty"`
	// UserIDSecretChange "allow" accepts a secret other than the one the
	// store was written with (every user id then changes). Default: such
	// a start is refused.
	UserIDSecretChange string `json:"userid_secret_change,omitempty"`
	// BasicAuth enables Kinto's basicauth policy: any user:pass is an
	// identity. Default: on.
	BasicAuth *bool `json:"basicauth,omitempty"`
	// DefaultBucket enables /buckets/default, each user's personal bucket.
	// Default: on.
	DefaultBucket *bool `json:"default_bucket,omitempty"`
	// BucketCreatePrincipals may create buckets. Default:
	// system.Authenticated.
	BucketCreatePrincipals []string `json:"bucket_create_principals,omitempty"`
	// PermissionsEndpoint enables GET /v1/permissions.
	PermissionsEndpoint bool `json:"permissions_endpoint,omitempty"`
	// FlushEndpoint enables POST /v1/__flush__, which deletes everything
	// (for test servers only).
	FlushEndpoint bool `json:"flush_endpoint,omitempty"`
	// Readonly refuses every write.
	Readonly bool `json:"readonly,omitempty"`
	// BatchMaxRequests bounds POST /v1/batch. Default: 25.
	BatchMaxRequests int `json:"batch_max_requests,omitempty"`
	// PaginateBy is the default and maximum page size of lists.
	PaginateBy int `json:"paginate_by,omitempty"`
	// MaxBodySize bounds request bodies in bytes. Default: 8 MiB.
	MaxBodySize int64 `json:"max_body_size,omitempty"`
	// MaxDepth bounds how deep arrays and objects nest in a request body.
	// Default: 100.
	MaxDepth int `json:"max_depth,omitempty"`
	// TimestampTolerance is how far past the server clock a client's
	// last_modified may be. Default: 10m.
	TimestampTolerance caddy.Duration `json:"timestamp_tolerance,omitempty"`
	// CORSOrigins are the origins allowed to read responses. Default: *.
	CORSOrigins []string `json:"cors_origins,omitempty"`
	// Backoff adds "Backoff: N" (seconds) to responses, to this
	// percentage of them when BackoffPercentage is set.
	Backoff           int     `json:"backoff,omitempty"`
	BackoffPercentage float64 `json:"backoff_percentage,omitempty"`
	// EOS is the end-of-service date (YYYY-MM-DD), with the message and
	// URL of the Alert header.
	EOS        string `json:"eos,omitempty"`
	EOSMessage string `json:"eos_message,omitempty"`
	EOSURL     string `json:"eos_url,omitempty"`
	// RetryAfter is the Retry-After value (seconds) of 503 and 409
	// answers. Default: 3.
	RetryAfter int `json:"retry_after,omitempty"`
	// Plugins enables Kinto's optional plugins (accounts, history,
	// attachments); all off by default.
	Plugins

	handler *docstore.Handler
	storage StorageConfig
}

// CaddyModule returns the Caddy module information.
func (Docstore) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.docstore",
		New: func() caddy.Module { return new(Docstore) },
	}
}

// Provision opens (or shares) the storage and builds the API handler.
func (d *Docstore) Provision(ctx caddy.Context) error {
	if err := d.check(); err != nil {
		return fmt.Errorf("docstore: %v", err)
	}
	app, err := appOf(ctx)
	if err != nil {
		return fmt.Errorf("docstore: %v", err)
	}
	var storage StorageConfig
	if d.Storage != nil {
		storage = *d.Storage
	}
	storage, err = storage.withDefaults()
	if err != nil {
		return err
	}
	secret, err := d.userIDSecret(storage)
	if err != nil {
		return err
	}
	store, err := acquireStore(storage, ctx.Slogger())
	if err != nil {
		return err
	}
	if err := d.recordSecret(ctx, store, storage, secret); err != nil {
		_ = releaseStore(storage)
		return err
	}
	d.warnFlush(ctx, storage)
	d.storage = storage
	cfg := d.config()
	cfg.UserIDHMACSecret = secret
	d.handler, err = docstore.NewHandler(store, cfg, ctx.Slogger())
	if err != nil {
		_ = releaseStore(storage)
		return fmt.Errorf("docstore: %v", err)
	}
	d.handler.SetHealthChecks(app.healthChecks)
	if err := app.registerDocstore(storage, d.handler, store); err != nil {
		d.handler = nil
		_ = releaseStore(storage)
		return err
	}
	return registerMetrics(ctx)
}

// check refuses settings that cannot work, naming the directive's option
// and the fix, before anything is opened; the Caddyfile parser catches
// them earlier, at adapt, and this covers JSON configs. A missing user-id
// secret is not one of them: it is generated and kept next to the data.
func (d *Docstore) check() error {
	if d.EOS != "" {
		if err := checkEOSDate(d.EOS); err != nil {
			return err
		}
	}
	return nil
}

// checkEOSDate checks the date of the eos option.
func checkEOSDate(date string) error {
	if _, err := time.Parse(time.DateOnly, date); err != nil {
		return fmt.Errorf("eos: %q is not a date: write it YYYY-MM-DD, e.g. `eos 2027-01-31`", date)
	}
	return nil
}

// config translates the module's settings.
func (d *Docstore) config() docstore.Config {
	cfg := docstore.Config{
		Prefix:                 d.Prefix,
		BatchMaxRequests:       d.BatchMaxRequests,
		PaginateBy:             d.PaginateBy,
		MaxBodyBytes:           d.MaxBodySize,
		MaxDepth:               d.MaxDepth,
		TimestampTolerance:     time.Duration(d.TimestampTolerance),
		FlushEnabled:           d.FlushEndpoint,
		Readonly:               d.Readonly,
		CORSOrigins:            d.CORSOrigins,
		Backoff:                d.Backoff,
		BackoffPercentage:      d.BackoffPercentage,
		EOS:                    d.EOS,
		EOSMessage:             d.EOSMessage,
		EOSURL:                 d.EOSURL,
		RetryAfterSeconds:      d.RetryAfter,
		InsecureAllowAll:       d.InsecureAllowAll,
		BasicAuth:              d.BasicAuth == nil || *d.BasicAuth,
		DefaultBucket:          d.DefaultBucket == nil || *d.DefaultBucket,
		BucketCreatePrincipals: d.BucketCreatePrincipals,
		PermissionsEndpoint:    d.PermissionsEndpoint,
	}
	d.Plugins.apply(&cfg)
	return cfg
}

// Cleanup releases this config's use of the storage.
func (d *Docstore) Cleanup() error {
	if d.handler == nil {
		return nil
	}
	return releaseStore(d.storage)
}

// ServeHTTP answers the request; the user authenticated by an earlier
// handler ({http.auth.user.id}) becomes the principal account:<id>.
func (d *Docstore) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	d.handler.ServeHTTP(w, withCaddyUser(r))
	return nil
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Docstore)(nil)
	_ caddy.CleanerUpper          = (*Docstore)(nil)
	_ caddyhttp.MiddlewareHandler = (*Docstore)(nil)
)
