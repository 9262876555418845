package render

import (
	"net/http"
	"net/url"
	"strings"
)

// QueryParam returns the first value of the query parameter name in a
// raw query string, and whether the parameter is there at all ("?pretty"
// and "?pretty=" are present with an empty value). It scans the string
// instead of building url.Values, since every request is asked.
func QueryParam(rawQuery, name string) (value string, present bool) {
	if !strings.Contains(rawQuery, name) && !strings.Contains(rawQuery, "%") {
		return "", false
	}
	for rawQuery != "" {
		var pair string
		pair, rawQuery, _ = strings.Cut(rawQuery, "&")
		key, val, _ := strings.Cut(pair, "=")
		if key != name {
			if !strings.ContainsAny(key, "%+") {
				continue
			}
			k, err := url.QueryUnescape(key)
			if err != nil || k != name {
				continue
			}
		}
		v, err := url.QueryUnescape(val)
		if err != nil {
			v = val
		}
		return v, true
	}
	return "", false
}

// withoutParam returns r for the upstream: the same request without the
// query parameter our middleware consumes. The upstream must not act on
// it too: Kinto, for one, would read ?pretty or ?callback=cb as a
// filter on a field named pretty or callback and list nothing. r itself
// is left alone (outer middleware still look at it).
func withoutParam(r *http.Request, name string) *http.Request {
	kept := make([]string, 0, 4)
	for _, pair := range strings.Split(r.URL.RawQuery, "&") {
		if pair == "" {
			continue
		}
		key, _, _ := strings.Cut(pair, "=")
		if k, err := url.QueryUnescape(key); err == nil && k == name {
			continue
		}
		kept = append(kept, pair)
	}
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.RawQuery = strings.Join(kept, "&")
	u.ForceQuery = false
	r2.URL = &u
	r2.RequestURI = u.RequestURI()
	return r2
}
