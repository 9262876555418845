package feeds

import (
	"context"
	"net/http"
	"time"
)

// A live feed keeps its reader's read permission under watch: a reader who
// loses it (a permission of the collection or bucket, a group, a deletion)
// gets no row written after that. Checking per row would cost a
// permission lookup per row and feed; instead the hub counts the events
// that can change a permission (every write that is not a record's: a
// bucket, a collection, a group, their deletions) and a feed asks Access
// again only when that count moved since its last yes, or, for an Access
// whose answers expire by themselves (a sidecar's upstream), once their
// time to live passed. The count moves, and the feeds of the collection
// wake, before the revoking write is acknowledged, so a row its author
// writes next is read after the count moved.

// AccessRenewal is implemented by an Access whose answers may change
// without an event reaching the hub: a sidecar's upstream changes its
// permissions itself.
type AccessRenewal interface {
	// AccessGeneration moves whenever an earlier answer may no longer
	// hold (a write observed on its way to the upstream).
	AccessGeneration() uint64
	// AccessTTL is how long a yes may be trusted when the generation did
	// not move; a feed asks again before sending rows after it.
	AccessTTL() time.Duration
}

// AccessKeeper is implemented by an Access that can keep what a later
// CanRead of the same reader needs in a request much smaller than the
// one served: a parked longpoll keeps it for as long as it waits, and a
// served request's context holds the connection's and the server's state
// (about 24 KB per feed under Caddy).
type AccessKeeper interface {
	// KeepReader returns a request that CanRead answers as it answers r,
	// detached from r's cancellation.
	KeepReader(r *http.Request) (*http.Request, error)
}

// feedAccess is a feed's standing permission to read its collection.
type feedAccess struct {
	// req asks again: the client's request, or once the feed parks
	// what of it CanRead needs, detached from its cancellation (a parked
	// longpoll outlives its handler).
	req *http.Request
	key Key
	// gen is the access generation of the last yes, at is its time (kept
	// only when answers expire).
	gen uint64
	at  time.Time
	// denied is the answer that ended the feed.
	denied error
}

// accessGeneration is the count of permission-changing events, plus the
// Access's own.
func (h *Handler) accessGeneration() uint64 {
	gen := h.hub.accessGen.Load()
	if ar, ok := h.access.(AccessRenewal); ok {
		gen += ar.AccessGeneration()
	}
	return gen
}

// accessTTL is how long the Access's yes holds unchanged (0: until the
// generation moves).
func (h *Handler) accessTTL() time.Duration {
	if ar, ok := h.access.(AccessRenewal); ok {
		return ar.AccessTTL()
	}
	return 0
}

// checkFeedAccess asks whether r may read k's feed, and returns the
// standing permission a live feed renews.
func (h *Handler) checkFeedAccess(r *http.Request, k Key) (*feedAccess, error) {
	// The generation is taken before asking: a change during the check
	// makes the feed ask again.
	a := &feedAccess{key: k, gen: h.accessGeneration()}
	if h.accessTTL() > 0 {
		a.at = time.Now()
	}
	if err := h.access.CanRead(r, k); err != nil {
		return nil, err
	}
	// The request goroutine asks again with the request itself; a parked
	// longpoll, which outlives it, keeps less (detach).
	a.req = r
	return a, nil
}

// detach makes the permission outlive the request: what CanRead needs
// of it, without its cancellation.
func (a *feedAccess) detach(access Access) error {
	if ak, ok := access.(AccessKeeper); ok {
		kept, err := ak.KeepReader(a.req)
		if err != nil {
			return err
		}
		a.req = kept
		return nil
	}
	a.req = a.req.WithContext(context.WithoutCancel(a.req.Context()))
	return nil
}

// allowed reports whether the feed may still send what it read: called
// after every read and before its rows go out. It asks Access again only
// when the generation moved or the last yes expired.
func (f *feed) allowed() bool {
	a := f.access
	switch {
	case a == nil:
		// The monitor feed lists what the monitor lists to anyone.
		return true
	case a.denied != nil:
		return false
	}
	h := f.h
	gen, ttl := h.accessGeneration(), h.accessTTL()
	if gen == a.gen && (ttl <= 0 || time.Since(a.at) < ttl) {
		return true
	}
	if ttl > 0 {
		a.at = time.Now()
	}
	if err := h.access.CanRead(a.req, a.key); err != nil {
		a.denied = err
		return false
	}
	a.gen = gen
	return true
}

// revoked reports a feed whose reader lost the permission.
func (f *feed) revoked() bool { return f.access != nil && f.access.denied != nil }

// drop forgets what the last read took when the reader may no longer
// read it: the cursor and pending go back to where they were.
func (f *feed) drop(cur feedCursor, pending int) {
	f.out = f.out[:0]
	f.cur, f.pending = cur, pending
}
