package upstream

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/tidwall/gjson"

	"github.com/changegate/changegate/cache"
	"github.com/changegate/changegate/feeds"
	"github.com/changegate/changegate/kinto"
)

// UpstreamHeader is set on every answer of the changes endpoints while
// the upstream is unreachable: "unavailable; since=<RFC 3339 time>". The
// monitor then lists the last timestamps known.
const UpstreamHeader = "Changegate-Upstream"

// decisionCacheBytes bounds the remembered permission answers.
const decisionCacheBytes = 4 << 20

// Access applies the upstream's permissions: kinto.Access over HTTP.
type Access struct{ src *Source }

// Access returns the permission checks of the source's upstream.
func (s *Source) Access() Access { return Access{src: s} }

// CanRead asks the upstream, with the client's Authorization and the
// configured headers, whether the client may read the collection object
// (the permission a changeset needs). The upstream's 401, 403 or 404 is
// the answer. A yes is reused for the same credentials and collection
// for AuthCacheTTL, unless a write through the sidecar touched a bucket,
// collection or group meanwhile; a no is never reused.
func (a Access) CanRead(r *http.Request, k kinto.Key) error {
	s := a.src
	hd := s.clientHeaders(r)
	dk := decisionKey{Key: k, who: fingerprint(hd)}
	if s.auth.allowed(dk) {
		return nil
	}
	gen := s.auth.gen.Load()
	resp, err := s.client.get(r.Context(), collectionPath(k), nil, hd)
	if err != nil {
		return s.check(err)
	}
	s.health.up()
	if resp.status != http.StatusOK {
		return upstreamError(resp)
	}
	s.auth.allow(dk, gen)
	s.touch(k)
	s.rememberReader(k, hd)
	// The collection object tells its timestamp: a change of its
	// metadata made straight to the upstream reaches the changeset cache
	// key this way (polling watches records only).
	if ts := gjson.GetBytes(resp.body, "data.last_modified").Int(); ts > 0 {
		s.emit(kinto.Event{Kind: kinto.KindCollection, Bucket: k.Bucket, Collection: k.Collection, Timestamp: ts})
	}
	return nil
}

// Anonymous reports whether r carries none of the headers the upstream
// would identify its caller by (Authorization and ForwardHeaders).
func (a Access) Anonymous(r *http.Request) bool { return len(a.src.clientHeaders(r)) == 0 }

// CallerKey names the credentials r carries (a hash): the monitor keeps
// one filtered view per credentials for a poll interval.
func (a Access) CallerKey(r *http.Request) (string, error) {
	fp := fingerprint(a.src.clientHeaders(r))
	return hex.EncodeToString(fp[:]), nil
}

// KeepReader keeps the headers the upstream is asked with, nothing else.
func (a Access) KeepReader(r *http.Request) (*http.Request, error) {
	kept := (&http.Request{Method: http.MethodGet, Header: a.src.clientHeaders(r)}).WithContext(context.Background())
	return kept, nil
}

// AccessGeneration moves whenever a write through the sidecar touched a
// bucket, collection or group: live feeds then ask again.
func (a Access) AccessGeneration() uint64 { return a.src.auth.gen.Load() }

// AccessTTL is how long a live feed trusts a yes before asking the
// upstream again (its permissions change there without the sidecar
// seeing it): the auth cache's time to live; with no cache, before every
// read's rows.
func (a Access) AccessTTL() time.Duration { return max(a.src.opts.AuthCacheTTL, time.Nanosecond) }

// EndOfService reports whether the upstream's last answer was its
// end-of-service 410: the changes endpoints then go to the upstream too
// (through reverse_proxy), which answers them as every other route. The
// poller keeps asking, so an upstream that serves again is noticed.
func (a Access) EndOfService() bool { return a.src.client.retired.Load() }

// Decorate adds what every answer of a Kinto server carries: CORS by
// the shared origin rule (internal/cors), Retry-After on 503 and 409, and
// UpstreamHeader while the upstream is away.
func (a Access) Decorate(r *http.Request, status int, hd http.Header) {
	a.src.cors.Apply(r.Header.Get("Origin"), hd)
	if (status == http.StatusServiceUnavailable || status == http.StatusConflict) && hd.Get("Retry-After") == "" {
		hd.Set("Retry-After", strconv.Itoa(a.src.opts.RetryAfter))
	}
	if since := a.src.Unavailable(); !since.IsZero() {
		hd.Set(UpstreamHeader, "unavailable; since="+since.UTC().Format(time.RFC3339))
		// Browser code on another origin may read only the fields listed
		// (Fetch standard, CORS-safelisted response headers): list ours
		// wherever the answer lists any.
		if expose := hd.Get("Access-Control-Expose-Headers"); expose != "" {
			hd.Set("Access-Control-Expose-Headers", expose+", "+UpstreamHeader)
		}
	}
}

// clientHeaders are the client's headers forwarded on a permission check.
func (s *Source) clientHeaders(r *http.Request) http.Header {
	hd := http.Header{}
	for _, name := range append([]string{"Authorization"}, s.opts.ForwardHeaders...) {
		if v := r.Header.Values(name); len(v) > 0 {
			hd[http.CanonicalHeaderKey(name)] = v
		}
	}
	return hd
}

// fingerprint identifies a set of credentials without keeping them.
func fingerprint(hd http.Header) [32]byte {
	h := sha256.New()
	for _, name := range slices.Sorted(maps.Keys(hd)) {
		h.Write([]byte(name))
		for _, v := range hd[name] {
			h.Write([]byte{0})
			h.Write([]byte(v))
		}
		h.Write([]byte{1})
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// decisions remembers the upstream's recent "may read" answers.
type decisions struct {
	ttl time.Duration
	// gen counts the writes that may have changed permissions; an answer
	// given before one is not reused.
	gen atomic.Uint64
	lru *cache.LRU[decisionKey, decision]
}

type decisionKey struct {
	kinto.Key
	who [32]byte
}

type decision struct {
	until time.Time
	gen   uint64
}

func newDecisions(ttl time.Duration) *decisions {
	return &decisions{ttl: ttl, lru: cache.NewLRU[decisionKey](decisionCacheBytes, func(decision) int64 { return 160 })}
}

// allowed reports a fresh yes for k.
func (d *decisions) allowed(k decisionKey) bool {
	if d.ttl <= 0 {
		return false
	}
	v, ok := d.lru.Get(k)
	return ok && v.gen == d.gen.Load() && time.Now().Before(v.until)
}

// allow remembers a yes obtained at generation gen.
func (d *decisions) allow(k decisionKey, gen uint64) {
	if d.ttl > 0 {
		d.lru.Add(k, decision{until: time.Now().Add(d.ttl), gen: gen})
	}
}

// invalidate forgets every answer (a permission may have changed).
func (d *decisions) invalidate() { d.gen.Add(1) }

// Interface guards
var (
	_ kinto.Source        = (*Source)(nil)
	_ kinto.Access        = Access{}
	_ feeds.AccessRenewal = Access{}
	_ feeds.AccessKeeper  = Access{}
)
