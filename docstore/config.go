package docstore

import (
	"errors"
	"time"
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
	return c
}

// validate refuses settings that cannot work together.
func (c Config) validate() error {
	if c.BasicAuth && c.UserIDHMACSecret == "" {
		return errors.New("basicauth needs a userid_hmac_secret")
	}
	if c.DefaultBucket && c.UserIDHMACSecret == "" {
		return errors.New("the default bucket needs a userid_hmac_secret")
	}
	return nil
}

// Version is changegate's version, reported as project_version.
const Version = "0.1.0"

// HTTPAPIVersion is the Kinto HTTP API version we implement.
const HTTPAPIVersion = "1.23"
