package docstore

import (
	"encoding/json"
	"net/http"

	"github.com/changegate/changegate/kinto"
)

// defaultBucket is the alias of every user's personal bucket.
const defaultBucket = "default"

// resolveDefaultBucket maps /buckets/default to the caller's personal
// bucket, creating the bucket, and the collection the request names, on
// first use (Kinto's default_bucket plugin). Anonymous callers have no
// personal bucket.
func (h *Handler) resolveDefaultBucket(o *op, c *call, r ref) (ref, error) {
	isDefault := r.Bucket == defaultBucket || (r.Kind == KindBucket && r.ID == defaultBucket)
	if !h.cfg.DefaultBucket || !isDefault {
		return r, nil
	}
	if c.id.anonymous() {
		return r, h.errUnauthorized(c.id)
	}
	bid := h.defaultBucketID(c.id.userID)
	if r.Kind == KindBucket {
		r.ID = bid
		c.request.body = replaceDataID(c.request.body, defaultBucket, bid)
	} else {
		r.Bucket = bid
	}
	if h.cfg.Readonly {
		return r, nil
	}
	bucketPut := r.Kind == KindBucket && c.method == http.MethodPut
	if !bucketPut {
		if err := o.ensure(ref{Kind: KindBucket, ID: bid}, c.id.userID); err != nil {
			return r, err
		}
	}
	collectionPut := r.Kind == KindCollection && !r.plural() && c.method == http.MethodPut
	switch {
	case r.Kind == KindRecord:
		return r, o.ensure(ref{Kind: KindCollection, Bucket: bid, ID: r.Collection}, c.id.userID)
	case r.Kind == KindCollection && !r.plural() && !collectionPut:
		return r, o.ensure(ref{Kind: KindCollection, Bucket: bid, ID: r.ID}, c.id.userID)
	}
	return r, nil
}

// ensure creates the object r names, owned by author, unless it exists.
// In a read-only transaction it asks for a write one.
func (o *op) ensure(r ref, author string) error {
	if !validID(r.ID) {
		return kinto.Invalid(kinto.ValidationDetail{Location: "path", Description: "Invalid " + r.Kind + " id", Nameless: true})
	}
	existing, err := o.get(r)
	if err != nil || existing != nil {
		return err
	}
	if !o.writable {
		return errNeedsWrite
	}
	_, err = o.save(r, nil, Permissions{}, author)
	return err
}

// replaceDataID rewrites data.id in a body (PUT /buckets/default with
// {"data": {"id": "default"}}).
func replaceDataID(body []byte, from, to string) []byte {
	ms := members(body)
	data := findMember(ms, "data")
	if !isObject(data) {
		return body
	}
	dms := members(data)
	var id string
	if json.Unmarshal(findMember(dms, "id"), &id) != nil || id != from {
		return body
	}
	dms = setMember(dms, "id", kinto.AppendJSONString(nil, to))
	return buildObject(setMember(ms, "data", buildObject(dms)))
}

// personalBucket maps the "default" bucket of r to the caller's personal
// bucket id, for the endpoints outside the resources (history,
// snapshots, attachments); ok tells whether it did.
func (h *Handler) personalBucket(req *request, r ref) (ref, bool) {
	if !h.cfg.DefaultBucket || r.Bucket != defaultBucket || req.userID == "" {
		return r, false
	}
	r.Bucket = h.defaultBucketID(req.userID)
	return r, true
}
