package upstream

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/changegate/changegate/kinto"
	"github.com/tidwall/gjson"
)

// FutureTimestamp refuses a write passing through the sidecar that
// carries a client last_modified later than now plus tolerance: Kinto
// keeps such a value, stamps every later write of the list after it, and
// the sidecar's monitor (the newest timestamp of all collections) would
// then break _since polling of every collection. It looks where Kinto
// reads one: data.last_modified of an object body, a JSON Patch to
// /data/last_modified, each batch request's body (and the defaults), and
// DELETE's ?last_modified. It returns nil when the write may go on.
func FutureTimestamp(prefix string, r *http.Request, body []byte, now time.Time, tolerance time.Duration) *kinto.Error {
	limit := now.UnixMilli() + tolerance.Milliseconds()
	refuse := func(location, name string, ts int64) *kinto.Error {
		return kinto.Invalid(kinto.ValidationDetail{Location: location, Name: name,
			Description: strconv.FormatInt(ts, 10) + " is later than the server clock plus " + tolerance.String() + " (timestamp_tolerance)"})
	}
	if r.Method == http.MethodDelete {
		if ts, ok := clientTimestamp(firstQuery(r.URL.RawQuery, "last_modified")); ok && ts > limit {
			return refuse("querystring", "last_modified", ts)
		}
		return nil
	}
	if strings.TrimPrefix(r.URL.Path, prefix) == "/batch" {
		if ts, ok := bodyTimestamp(gjson.GetBytes(body, "defaults.body")); ok && ts > limit {
			return refuse("body", "defaults.body.data.last_modified", ts)
		}
		var refused *kinto.Error
		gjson.GetBytes(body, "requests").ForEach(func(i, req gjson.Result) bool {
			if ts, ok := bodyTimestamp(req.Get("body")); ok && ts > limit {
				refused = refuse("body", "requests."+i.String()+".body.data.last_modified", ts)
			}
			return refused == nil
		})
		return refused
	}
	if ts, ok := bodyTimestamp(gjson.ParseBytes(body)); ok && ts > limit {
		return refuse("body", "data.last_modified", ts)
	}
	return nil
}

// bodyTimestamp is the last_modified an object body or a JSON Patch sets.
func bodyTimestamp(body gjson.Result) (int64, bool) {
	if body.IsArray() {
		var ts int64
		var found bool
		body.ForEach(func(_, op gjson.Result) bool {
			if op.Get("path").String() == "/data/last_modified" {
				ts, found = clientTimestamp(op.Get("value").Raw)
			}
			return !found
		})
		return ts, found
	}
	return clientTimestamp(body.Get("data.last_modified").Raw)
}

// clientTimestamp parses an integer last_modified, as Kinto keeps only
// those.
func clientTimestamp(raw string) (int64, bool) {
	ts, err := strconv.ParseInt(raw, 10, 64)
	return ts, err == nil
}

// firstQuery is a raw query parameter's first value.
func firstQuery(rawQuery, name string) string {
	q, _ := url.ParseQuery(rawQuery)
	return q.Get(name)
}
