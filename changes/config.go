package changes

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/changegate/changegate/feeds"
)

// Config holds the settings of the changes endpoints, named after the
// reference plugin's (kinto.changes.*) and Kinto's settings.
type Config struct {
	// Prefix is the API version prefix, /v1.
	Prefix string
	// Resources are the bucket URIs (/buckets/b) and collection URIs
	// (/buckets/b/collections/c) whose collections are monitored
	// (changes.resources).
	Resources []string
	// ExcludedCollections are left out of the monitor, with the same
	// syntax (changes.excluded_collections).
	ExcludedCollections []string
	// HTTPHost is the host of the entries and of their ids (http_host).
	HTTPHost string
	// HTTPScheme is the scheme of redirect URLs (http_scheme); https when
	// empty.
	HTTPScheme string
	// ChangesHTTPHost is the host of redirect URLs (changes.http_host);
	// HTTPHost when empty. When both are empty, redirects go to the host
	// and scheme the client used.
	ChangesHTTPHost string
	// SinceMaxAgeDays redirects a _since older than this many days to the
	// URL without it; negative disables (changes.since_max_age_days).
	SinceMaxAgeDays int
	// SinceMaxAgeRedirectTTLSeconds is the Cache-Control max-age of that
	// redirect and of the stale-_expected 204; negative sends none
	// (changes.since_max_age_redirect_ttl_seconds).
	SinceMaxAgeRedirectTTLSeconds int
	// RecordCache maps Kinto setting names to seconds:
	// record_cache_expires_seconds, {bid}.record_cache_expires_seconds and
	// {bid}.{cid}.record_cache_{,minimum_,maximum_}expires_seconds.
	RecordCache map[string]int
	// PaginateBy and StorageMaxFetchSize bound _limit (Kinto's
	// paginate_by and storage_max_fetch_size).
	PaginateBy          int
	StorageMaxFetchSize int
	// BroadcastDebounce is push_broadcast_min_debounce_interval_seconds.
	BroadcastDebounce time.Duration
	// Version is shown in the changes capability.
	Version string
	// FeedTimeoutMax caps how long a _changes feed waits idle (CouchDB's
	// [chttpd] changes_timeout): timeout and heartbeat beyond it are
	// brought down to it. 0 means feeds.DefaultFeedTimeoutMax.
	FeedTimeoutMax time.Duration
	// MonitorListAll lists every monitored collection to every caller,
	// as the reference plugin does, and lets __broadcasts__ move for any
	// of them. By default a caller sees only the collections it may
	// read (anonymous callers: those readable by system.Everyone).
	MonitorListAll bool
	// VisibilityTTL bounds how long the anonymous monitor view is kept
	// when permission changes may happen unseen (sidecar: writes made
	// straight to the upstream); 0 keeps it until a bucket or collection
	// event.
	VisibilityTTL time.Duration
	// FeedHeartbeat is the period of heartbeat=true, below Caddy's and
	// most proxies' one-minute idle timeouts. 0 means
	// feeds.DefaultFeedHeartbeat.
	FeedHeartbeat time.Duration
}

// DefaultConfig returns the reference plugin's defaults.
func DefaultConfig() Config {
	return Config{
		Prefix:                        "/v1",
		SinceMaxAgeDays:               21,
		SinceMaxAgeRedirectTTLSeconds: 86400,
		StorageMaxFetchSize:           10000,
		BroadcastDebounce:             300 * time.Second,
		FeedTimeoutMax:                feeds.DefaultFeedTimeoutMax,
		FeedHeartbeat:                 feeds.DefaultFeedHeartbeat,
	}
}

// Validate refuses settings that cannot mean anything.
func (c Config) Validate() error {
	if !strings.HasPrefix(c.Prefix, "/") || strings.HasSuffix(c.Prefix, "/") {
		return fmt.Errorf("prefix %q: want /v1 or the like", c.Prefix)
	}
	for _, uri := range slices.Concat(c.Resources, c.ExcludedCollections) {
		if !strings.HasPrefix(uri, "/buckets/") || len(uri) == len("/buckets/") {
			return fmt.Errorf("resource %q: want /buckets/<bid> or /buckets/<bid>/collections/<cid>", uri)
		}
	}
	if c.StorageMaxFetchSize <= 0 {
		return errors.New("storage_max_fetch_size must be positive")
	}
	if c.FeedTimeoutMax < 0 || c.FeedHeartbeat < 0 {
		return errors.New("feed_timeout_max and heartbeat must not be negative")
	}
	_, err := parseTTLs(c.RecordCache)
	return err
}

// maxLimit is the reference plugin's bound_limit without a value:
// min(paginate_by or storage_max_fetch_size, storage_max_fetch_size).
func (c Config) maxLimit() int64 {
	limit := c.StorageMaxFetchSize
	if c.PaginateBy > 0 {
		limit = min(c.PaginateBy, limit)
	}
	return int64(limit)
}

// boundLimit is bound_limit: the requested _limit capped, or the bound.
// 0 means no limit, as Kinto's storage reads a falsy limit.
func (c Config) boundLimit(q changesetQuery) int {
	if !q.hasLimit {
		return int(c.maxLimit())
	}
	return int(min(q.limit, c.maxLimit()))
}

// redirectOrigin is scheme://host of redirect URLs: the configured host
// (changes.http_host, else http_host) with http_scheme (https by
// default), or nothing when no host is configured, making Location a
// relative reference (RFC 9110 §10.2.2). The reference would write
// "https://None"; the request's own Host would let one client poison a
// redirect that shared caches keep for since_max_age_redirect_ttl_seconds.
func (c Config) redirectOrigin() string {
	host := c.ChangesHTTPHost
	if host == "" {
		host = c.HTTPHost
	}
	if host == "" {
		return ""
	}
	scheme := c.HTTPScheme
	if scheme == "" {
		scheme = "https"
	}
	return scheme + "://" + host
}

// Capability is the "changes" entry the docstore lists at GET /v1/.
func (c Config) Capability() map[string]any {
	collections := c.Resources
	if collections == nil {
		collections = []string{}
	}
	return map[string]any{
		"description": "Track modifications of records in Kinto and store the collection timestamps into a specific bucket and collection.",
		"url":         "http://kinto.readthedocs.io/en/latest/tutorials/synchronisation.html#polling-for-remote-changes",
		"version":     c.Version,
		"collections": collections,
	}
}
