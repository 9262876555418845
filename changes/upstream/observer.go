package upstream

import (
	"net/http"
	"strings"

	"github.com/tidwall/gjson"

	"github.com/changegate/changegate/kinto"
)

// Observes reports whether the answer to a request may tell a change: a
// write (PUT, POST, PATCH, DELETE) on buckets and what they hold, or
// POST /batch, below prefix (the API prefix as clients of the sidecar
// see it).
func Observes(prefix, method, path string) bool {
	switch method {
	case http.MethodPut, http.MethodPost, http.MethodPatch, http.MethodDelete:
	default:
		return false
	}
	rest, ok := strings.CutPrefix(path, prefix)
	if !ok {
		return false
	}
	return rest == "/buckets" || strings.HasPrefix(rest, "/buckets/") || (rest == "/batch" && method == http.MethodPost)
}

// Observe turns the answer to a write that passed through the sidecar
// into events, at once: record writes carry the collection's new records
// timestamp (data.last_modified, or the ETag), deletions of collections
// and buckets remove them. complete is false when the body was too long
// to keep; the poller is then asked to look now.
func (s *Source) Observe(prefix, method, path string, status int, header http.Header, body []byte, complete bool) {
	rest, _ := strings.CutPrefix(path, prefix)
	if status >= 400 {
		return
	}
	if rest == "/batch" {
		if !complete {
			s.invalidateAll()
			s.Nudge()
			return
		}
		// Each answer has its status, path, headers and body, but not
		// its method: deletions are told by their tombstones.
		gjson.GetBytes(body, "responses").ForEach(func(_, item gjson.Result) bool {
			if st := int(item.Get("status").Int()); st < 400 {
				p, _ := strings.CutPrefix(item.Get("path").String(), prefix)
				s.observeOne("", p, item.Get("headers.ETag").String(), item.Get("body"), true)
			}
			return true
		})
		return
	}
	s.observeOne(method, rest, header.Get("ETag"), gjson.ParseBytes(body), complete)
}

// observeOne applies one write answer; method is "" inside a batch.
func (s *Source) observeOne(method, path, etag string, body gjson.Result, complete bool) {
	parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
	if len(parts) < 1 || parts[0] != "buckets" {
		return
	}
	if len(parts) <= 4 || parts[2] == "groups" {
		// Buckets, collections and groups hold the permissions.
		s.invalidateAll()
	}
	if len(parts) >= 3 && parts[2] == "groups" {
		// Live feeds check their readers again (a member may have gone).
		s.send(kinto.Event{Kind: kinto.KindGroup, Bucket: parts[1]})
	}
	if !complete {
		s.Nudge()
		return
	}
	data := body.Get("data")
	deleted := method == http.MethodDelete || data.Get("deleted").Bool()
	switch {
	case len(parts) == 1: // /buckets
		s.observeList(data, kinto.KindBucket, "")
	case len(parts) == 2: // /buckets/{bid}
		if deleted {
			s.emit(kinto.Event{Kind: kinto.KindBucket, Bucket: parts[1], Deleted: true})
		}
	case len(parts) == 3 && parts[2] == "collections":
		s.observeList(data, kinto.KindCollection, parts[1])
	case len(parts) == 4 && parts[2] == "collections":
		s.emit(kinto.Event{Kind: kinto.KindCollection, Bucket: parts[1], Collection: parts[3],
			Timestamp: timestampOf(data, etag), Deleted: deleted})
	case len(parts) == 5 && parts[2] == "collections" && parts[4] == "records":
		s.observeRecords(parts[1], parts[3], data)
	case len(parts) == 6 && parts[2] == "collections" && parts[4] == "records":
		if ts := timestampOf(data, etag); ts > 0 {
			s.emit(kinto.Event{Kind: kinto.KindRecord, Bucket: parts[1], Collection: parts[3], Timestamp: ts, Deleted: deleted})
		}
	}
}

// observeList applies the answer of a plural endpoint: a list of
// tombstones after a DELETE, one object after a POST.
func (s *Source) observeList(data gjson.Result, kind, bucket string) {
	if data.IsObject() {
		if kind == kinto.KindCollection {
			s.emit(kinto.Event{Kind: kind, Bucket: bucket, Collection: data.Get("id").String(), Timestamp: data.Get("last_modified").Int()})
		}
		return
	}
	data.ForEach(func(_, obj gjson.Result) bool {
		if !obj.Get("deleted").Bool() {
			return true
		}
		ev := kinto.Event{Kind: kind, Bucket: bucket, Deleted: true}
		if kind == kinto.KindBucket {
			ev.Bucket = obj.Get("id").String()
		} else {
			ev.Collection = obj.Get("id").String()
		}
		s.emit(ev)
		return true
	})
}

// observeRecords applies a POST (one record) or DELETE (tombstones) on a
// records list: the newest timestamp is the collection's.
func (s *Source) observeRecords(bucket, coll string, data gjson.Result) {
	var ts int64
	if data.IsObject() {
		ts = data.Get("last_modified").Int()
	} else {
		data.ForEach(func(_, obj gjson.Result) bool {
			ts = max(ts, obj.Get("last_modified").Int())
			return true
		})
	}
	if ts > 0 {
		s.emit(kinto.Event{Kind: kinto.KindRecord, Bucket: bucket, Collection: coll, Timestamp: ts})
	}
}

// timestampOf is an object's last_modified, or the ETag's.
func timestampOf(data gjson.Result, etag string) int64 {
	if ts := data.Get("last_modified").Int(); ts > 0 {
		return ts
	}
	return parseETag(etag)
}

// invalidateAll forgets the permission answers remembered.
func (s *Source) invalidateAll() { s.auth.invalidate() }
