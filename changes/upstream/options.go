package upstream

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults of Options.
const (
	DefaultPollInterval    = 5 * time.Second
	DefaultPollConcurrency = 4
	DefaultRelistInterval  = 30 * time.Second
	DefaultTimeout         = 10 * time.Second
	DefaultMaxBackoff      = 30 * time.Second
	DefaultAuthCacheTTL    = time.Second
	DefaultMaxCollections  = 10000
	DefaultMaxBody         = 64 << 20
	DefaultRetryAfter      = 3
)

// Options configure a Source.
type Options struct {
	// URL is the upstream's API root, version prefix included:
	// http://127.0.0.1:8888/v1.
	URL string
	// Resources are the monitored bucket and collection URIs
	// (changes.resources); bucket URIs are expanded by listing their
	// collections every RelistInterval.
	Resources []string
	// PollInterval is the mean time between two polls of every watched
	// collection (±20% jitter).
	PollInterval time.Duration
	// PollConcurrency bounds the poll requests in flight.
	PollConcurrency int
	// RelistInterval is how often bucket URIs are listed again.
	RelistInterval time.Duration
	// Timeout bounds every upstream request.
	Timeout time.Duration
	// MaxBackoff bounds the poll delay while the upstream is unavailable.
	MaxBackoff time.Duration
	// Authorization is the service credentials (an Authorization header
	// value) of polling, bucket expansion and shared reads.
	Authorization string
	// ForwardHeaders are the client request headers, besides
	// Authorization, forwarded on permission checks (cookies, a
	// gateway's identity header...).
	ForwardHeaders []string
	// CORSOrigins are the origins allowed to read the sidecar's answers
	// (internal/cors): nil means any origin without credentials; set the
	// upstream's own cors_origins to echo those origins with credentials.
	CORSOrigins []string
	// AuthCacheTTL is how long an upstream "may read" answer is reused
	// for the same credentials and collection; 0 asks every time.
	AuthCacheTTL time.Duration
	// MaxCollections bounds the collections watched besides those of
	// Resources (collections read or written through the sidecar).
	MaxCollections int
	// MaxBody bounds an upstream response body read.
	MaxBody int64
	// RetryAfter is the Retry-After of 409 answers, in seconds.
	RetryAfter int
	// Transport is the HTTP transport; http.DefaultTransport's clone when
	// nil.
	Transport http.RoundTripper
	// Logger logs upstream trouble.
	Logger *slog.Logger
}

// withDefaults validates o and fills in the defaults; AuthCacheTTL < 0
// means 0.
func (o Options) withDefaults() (Options, *url.URL, error) {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return o, nil, fmt.Errorf("upstream %q: want http(s)://host[:port]/v1", o.URL)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return o, nil, fmt.Errorf("upstream %q: no query or fragment", o.URL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	for _, uri := range o.Resources {
		if _, _, ok := parseResource(uri); !ok {
			return o, nil, fmt.Errorf("resource %q: want /buckets/<bid> or /buckets/<bid>/collections/<cid>", uri)
		}
	}
	if o.PollInterval < 0 || o.RelistInterval < 0 || o.Timeout < 0 || o.MaxBackoff < 0 {
		return o, nil, errors.New("durations must not be negative")
	}
	o.PollInterval = or(o.PollInterval, DefaultPollInterval)
	o.PollConcurrency = or(o.PollConcurrency, DefaultPollConcurrency)
	o.RelistInterval = or(o.RelistInterval, DefaultRelistInterval)
	o.Timeout = or(o.Timeout, DefaultTimeout)
	o.MaxBackoff = max(or(o.MaxBackoff, DefaultMaxBackoff), o.PollInterval)
	o.AuthCacheTTL = max(o.AuthCacheTTL, 0)
	o.MaxCollections = or(o.MaxCollections, DefaultMaxCollections)
	o.MaxBody = or(o.MaxBody, DefaultMaxBody)
	o.RetryAfter = or(o.RetryAfter, DefaultRetryAfter)
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o, u, nil
}

// or is v, or def when v is zero.
func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// parseResource splits /buckets/<bid> and /buckets/<bid>/collections/<cid>;
// collection is "" for a bucket URI.
func parseResource(uri string) (bucket, collection string, ok bool) {
	rest, ok := strings.CutPrefix(uri, "/buckets/")
	if !ok || rest == "" {
		return "", "", false
	}
	bucket, collection, isColl := strings.Cut(rest, "/collections/")
	if strings.Contains(bucket, "/") || bucket == "" || (isColl && (collection == "" || strings.Contains(collection, "/"))) {
		return "", "", false
	}
	return bucket, collection, true
}
