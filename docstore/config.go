package docstore

import (
	"errors"
	"fmt"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/changegate/changegate/internal/version"
)

// Config holds the settings of the Kinto-compatible API, named after
// Kinto's settings where one exists.
type Config struct {
	// Prefix is the API version prefix, "/v1".
	Prefix string
	// ProjectName and ProjectVersion are shown at GET /v1/ and
	// /__version__.
	ProjectName    string
	ProjectVersion string
	// ProjectDocs is the documentation URL shown at GET /v1/.
	ProjectDocs string
	// BatchMaxRequests bounds POST /batch (Kinto: 25).
	BatchMaxRequests int
	// PaginateBy, when positive, is the default and maximum page size.
	PaginateBy int
	// MaxFetch bounds any list read (Kinto's storage_max_fetch_size).
	MaxFetch int
	// MaxBodyBytes bounds request bodies (413 errno 113 beyond).
	MaxBodyBytes int64
	// MaxDepth bounds how deep arrays and objects may nest in a request
	// body (400 errno 107 beyond). Default 100: far beyond real documents
	// and well inside what Kinto's parser accepts.
	MaxDepth int
	// TimestampTolerance is how far past the server clock a
	// client-supplied last_modified may be (400 errno 107 beyond): a
	// timestamp from the far future would stamp every later write of the
	// list after it. Default 10 minutes.
	TimestampTolerance time.Duration
	// FlushEnabled enables POST /__flush__, which deletes everything.
	FlushEnabled bool
	// Readonly refuses every write (405) and is shown in settings.
	Readonly bool
	// CORSOrigins lists the origins (shell patterns) allowed to read
	// responses cross-site with credentials; "*" (the default) lets any
	// origin read them without credentials (internal/cors).
	CORSOrigins []string
	// CORSMaxAge is the preflight cache duration.
	CORSMaxAge time.Duration
	// Backoff, when positive, adds "Backoff: N" (seconds) to responses;
	// BackoffPercentage (0..100, 0 meaning always) sends it to that share
	// of requests only.
	Backoff           int
	BackoffPercentage float64
	// EOS is the end-of-service date (YYYY-MM-DD): before it every
	// response gets a soft-eol Alert header, after it every request gets
	// 410 errno 202 with a hard-eol Alert.
	EOS        string
	EOSMessage string
	EOSURL     string
	// RetryAfterSeconds goes in Retry-After on 503 and 409 answers.
	RetryAfterSeconds int
	// InsecureAllowAll skips every permission check: any client, even
	// anonymous, may do anything. For throw-away test servers only.
	InsecureAllowAll bool
	// BasicAuth enables Kinto's basicauth policy: any "user:pass" is an
	// identity, basicauth:<hex hmac-sha256(UserIDHMACSecret, "user:pass")>.
	BasicAuth bool
	// UserIDHMACSecret keys the basicauth user ids and the default bucket
	// ids; required when BasicAuth is on.
	UserIDHMACSecret string
	// BucketCreatePrincipals may create buckets (Kinto's
	// bucket_create_principals). Default: system.Authenticated.
	BucketCreatePrincipals []string
	// DefaultBucket enables /buckets/default, each user's personal bucket
	// whose collections are created on first use.
	DefaultBucket bool
	// PermissionsEndpoint enables GET /v1/permissions.
	PermissionsEndpoint bool
	// Accounts, when set, enables Kinto's accounts plugin: /accounts and
	// Basic authentication against them.
	Accounts *AccountsConfig
	// History, when set, enables Kinto's history plugin: every write in
	// a bucket is recorded in /buckets/{bid}/history.
	History *HistoryConfig
	// Attachments, when set, enables the kinto-attachment API: files
	// attached to records, stored under a local folder.
	Attachments *AttachmentsConfig
}

// AccountsConfig holds the settings of the accounts feature, named
// after Kinto's.
type AccountsConfig struct {
	// CreatePrincipals may create accounts (account_create_principals).
	CreatePrincipals []string
	// WritePrincipals administer every account
	// (account_write_principals).
	WritePrincipals []string
	// ReadPrincipals may read every account (account_read_principals).
	ReadPrincipals []string
	// CacheTTL is how long verified credentials are trusted without
	// bcrypt, refreshed on each use (account_cache_ttl_seconds, 30 s).
	CacheTTL time.Duration
	// BcryptCost is the cost of new password hashes. Default:
	// bcrypt.DefaultCost.
	BcryptCost int
}

// withDefaults fills the zero values with Kinto's defaults.
func (c Config) withDefaults() Config {
	if c.Prefix == "" {
		c.Prefix = "/v1"
	}
	if c.ProjectName == "" {
		c.ProjectName = "kinto"
	}
	if c.ProjectVersion == "" {
		c.ProjectVersion = Version
	}
	if c.ProjectDocs == "" {
		c.ProjectDocs = "https://kinto.readthedocs.io/"
	}
	if c.BatchMaxRequests == 0 {
		c.BatchMaxRequests = 25
	}
	if c.MaxFetch == 0 {
		c.MaxFetch = 10000
	}
	if c.MaxBodyBytes == 0 {
		c.MaxBodyBytes = 8 << 20
	}
	if c.MaxDepth == 0 {
		c.MaxDepth = 100
	}
	if c.TimestampTolerance == 0 {
		c.TimestampTolerance = 10 * time.Minute
	}
	if c.CORSOrigins == nil {
		c.CORSOrigins = []string{"*"}
	}
	if c.CORSMaxAge == 0 {
		c.CORSMaxAge = time.Hour
	}
	if c.RetryAfterSeconds == 0 {
		c.RetryAfterSeconds = 3
	}
	if c.BucketCreatePrincipals == nil {
		c.BucketCreatePrincipals = []string{Authenticated}
	}
	if c.Accounts != nil {
		a := *c.Accounts
		if a.CacheTTL == 0 {
			a.CacheTTL = 30 * time.Second
		}
		if a.BcryptCost == 0 {
			a.BcryptCost = bcrypt.DefaultCost
		}
		c.Accounts = &a
	}
	if c.Attachments != nil {
		a := *c.Attachments
		if a.MaxSize == 0 {
			a.MaxSize = 10 << 20
		}
		if a.Extensions == "" {
			a.Extensions = "any"
		}
		c.Attachments = &a
	}
	return c
}

// validate refuses settings that cannot work together.
func (c Config) validate() error {
	if c.BasicAuth && c.UserIDHMACSecret == "" {
		return errors.New("basicauth needs a userid_hmac_secret")
	}
	if c.MaxDepth < 2 {
		return errors.New("max_depth must be at least 2: {\"data\": {}} nests twice")
	}
	if c.TimestampTolerance < 0 {
		return errors.New("timestamp_tolerance must not be negative")
	}
	if c.DefaultBucket && c.UserIDHMACSecret == "" {
		return errors.New("the default bucket needs a userid_hmac_secret")
	}
	if a := c.Attachments; a != nil && (a.Folder == "" || a.BaseURL == "") {
		return errors.New("attachments need a folder and a base_url")
	}
	if a := c.Accounts; a != nil && (a.BcryptCost < bcrypt.MinCost || a.BcryptCost > bcrypt.MaxCost) {
		return fmt.Errorf("accounts: bcrypt cost %d is not between %d and %d", a.BcryptCost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	return nil
}

// Version is changegate's version, reported as project_version.
const Version = version.Number

// HTTPAPIVersion is the Kinto HTTP API version we implement.
const HTTPAPIVersion = "1.23"
