package changes

import (
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/changegate/changegate/kinto"
)

// ttls are the record_cache_*expires_seconds settings by scope.
type ttls struct {
	global      *int
	buckets     map[string]int
	collections map[kinto.Key]collectionTTL
}

// collectionTTL are a collection's default, minimum and maximum TTLs.
type collectionTTL struct {
	expires, minimum, maximum *int
}

// ttlSetting is a Kinto setting name: [{bid}.[{cid}.]]record_cache_
// [minimum_|maximum_]expires_seconds. Kinto ids contain no dots.
var ttlSetting = regexp.MustCompile(`^(?:([A-Za-z0-9_-]+)\.)?(?:([A-Za-z0-9_-]+)\.)?record_cache_(minimum_|maximum_)?expires_seconds$`)

// parseTTLs reads the settings, refusing names the reference plugin
// would never read (minimum and maximum exist per collection only).
func parseTTLs(settings map[string]int) (ttls, error) {
	t := ttls{buckets: map[string]int{}, collections: map[kinto.Key]collectionTTL{}}
	for name, seconds := range settings {
		m := ttlSetting.FindStringSubmatch(name)
		if m == nil {
			return t, fmt.Errorf("unknown cache setting %q: want [<bid>.[<cid>.]]record_cache_[minimum_|maximum_]expires_seconds", name)
		}
		if seconds < 0 {
			return t, fmt.Errorf("%s: negative TTL %d", name, seconds)
		}
		bid, cid, bound := m[1], m[2], m[3]
		if bound != "" && cid == "" {
			return t, fmt.Errorf("%s: minimum and maximum TTLs are set per collection ({bid}.{cid}.%s)", name, strings.TrimPrefix(name, bid+"."))
		}
		v := seconds
		switch {
		case cid != "":
			k := kinto.Key{Bucket: bid, Collection: cid}
			c := t.collections[k]
			switch bound {
			case "minimum_":
				c.minimum = &v
			case "maximum_":
				c.maximum = &v
			default:
				c.expires = &v
			}
			t.collections[k] = c
		case bid != "":
			t.buckets[bid] = v
		default:
			t.global = &v
		}
	}
	return t, nil
}

// pick is _handle_cache_expires: the collection's minimum TTL when
// _expected is a cache buster (kinto.IsCacheBuster), its maximum for any other
// _expected, its default without one; else the bucket's, else the global
// one. ok is false when nothing applies.
func (t ttls) pick(k kinto.Key, expected string) (seconds int, ok bool) {
	c := t.collections[k]
	chosen := c.expires
	switch {
	case kinto.IsCacheBuster(expected):
		if c.minimum != nil {
			chosen = c.minimum
		}
	case expected != "":
		if c.maximum != nil {
			chosen = c.maximum
		}
	}
	if chosen != nil {
		return *chosen, true
	}
	if v, ok := t.buckets[k.Bucket]; ok {
		return v, true
	}
	if t.global != nil {
		return *t.global, true
	}
	return 0, false
}

// setCacheExpires is WebOb's Response.cache_expires(seconds): a positive
// TTL replaces every Cache-Control directive with max-age and sets
// Expires; zero forces revalidation the way WebOb does, keeping the
// directives already there in front.
func setCacheExpires(h http.Header, seconds int, now time.Time) {
	if seconds > 0 {
		h.Set("Cache-Control", "max-age="+strconv.Itoa(seconds))
		h.Set("Expires", httpTime(now.Add(time.Duration(seconds)*time.Second)))
		h.Del("Pragma")
		return
	}
	var directives []string
	if cc := h.Get("Cache-Control"); cc != "" {
		directives = strings.Split(cc, ", ")
	}
	for _, d := range []string{"no-store", "no-cache", "must-revalidate", "max-age=0", "post-check=0", "pre-check=0"} {
		if !containsDirective(directives, d) {
			directives = append(directives, d)
		}
	}
	h.Set("Cache-Control", strings.Join(directives, ", "))
	h.Set("Expires", httpTime(now))
	if h.Get("Last-Modified") == "" {
		h.Set("Last-Modified", httpTime(now))
	}
	h.Set("Pragma", "no-cache")
}

// containsDirective reports whether the directive's name is in the list.
func containsDirective(directives []string, d string) bool {
	name, _, _ := strings.Cut(d, "=")
	for _, have := range directives {
		if n, _, _ := strings.Cut(have, "="); n == name {
			return true
		}
	}
	return false
}

// httpTime formats an HTTP date.
func httpTime(t time.Time) string { return t.UTC().Format(http.TimeFormat) }

// httpDate formats a Kinto timestamp (epoch milliseconds) as an HTTP
// date, truncated to the second.
func httpDate(ms int64) string { return httpTime(time.UnixMilli(ms)) }
