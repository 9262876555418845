package upstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/tidwall/gjson"

	"github.com/changegate/changegate/kinto"
)

// consistentAttempts bounds the reads of one changeset or page of changes
// whose records changed while they were read.
const consistentAttempts = 3

// futureSince is how far ahead of the clock a _since may be before it
// is clear that no record is newer: Kinto refuses a _since more than 24
// hours ahead, and registry verifications ask with 2^62.
const futureSince = 12 * time.Hour

// errChanged is a read that saw the records change under it.
var errChanged = errors.New("records changed during the read")

// Changeset reads a collection's changeset from the upstream: the
// collection object, then records?_sort=-last_modified&_since=…
// (following Next-Page up to limit), checked for a consistent read as
// the reference plugin does (the records ETag before and after must
// agree; else retried, then 409 errno 122).
func (s *Source) Changeset(ctx context.Context, k kinto.Key, since int64, limit int) (*kinto.Changeset, error) {
	hd := s.readHeaders(k)
	var cs *kinto.Changeset
	err := s.consistently(ctx, func() (err error) {
		cs, err = s.readChangeset(ctx, k, since, limit, hd)
		return err
	})
	if err != nil {
		return nil, err
	}
	if cs.Metadata != nil {
		s.touch(k)
	}
	return cs, nil
}

// ReadChanges reads a collection's changes after q.Since, tombstones
// included, from the upstream's records list
// (records?_since=…&_sort=last_modified). Unlike a changeset it is never
// refused for writes landing meanwhile (a live feed reads while writes
// go on): it keeps what the first page's ETag covers (see snapshot) and
// leaves the rest for the next read. Pending is 0 when the list ended
// within the limit; else the upstream counts what was left out (unless
// q.NoPending), or it is -1 when it cannot.
func (s *Source) ReadChanges(ctx context.Context, k kinto.Key, q kinto.ChangesQuery) (*kinto.ChangesPage, error) {
	hd := s.readHeaders(k)
	l, err := s.readList(ctx, k, listQuery{since: q.Since, limit: q.Limit, descending: q.Descending, tombstones: true}, hd)
	if err = s.check(err); err != nil {
		return nil, err
	}
	page := &kinto.ChangesPage{Exists: l.exists, Timestamp: l.etag, Changes: l.items}
	if l.more {
		page.Pending = -1
		if !q.NoPending {
			if n, ok := s.countChanges(ctx, k, q.Since, hd); ok {
				page.Pending = max(n-len(l.items), 0)
			}
		}
	}
	if page.Exists {
		s.touch(k)
	}
	return page, nil
}

// countChanges asks the upstream how many changes follow since,
// tombstones included: HEAD on the records list with _since answers
// Total-Records (Total-Objects in Kinto 14+ as well) without listing
// anything. ok is false when the upstream does not tell.
func (s *Source) countChanges(ctx context.Context, k kinto.Key, since int64, hd http.Header) (int, bool) {
	resp, err := s.client.head(ctx, recordsPath(k), url.Values{"_since": {strconv.FormatInt(since, 10)}}, hd)
	if err != nil || resp.status != http.StatusOK {
		return 0, false
	}
	for _, name := range []string{"Total-Records", "Total-Objects"} {
		if n, err := strconv.Atoi(resp.header.Get(name)); err == nil && n >= 0 {
			return n, true
		}
	}
	return 0, false
}

// consistently runs read until it sees no change under it, a few times,
// then answers 409 like the reference; upstream failures become 503.
func (s *Source) consistently(ctx context.Context, read func() error) error {
	for attempt := 1; ; attempt++ {
		err := read()
		if !errors.Is(err, errChanged) {
			return s.check(err)
		}
		if attempt == consistentAttempts {
			return errInconsistent(s.opts.RetryAfter)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(attempt) * 10 * time.Millisecond):
		}
	}
}

// readChangeset is one attempt of Changeset.
func (s *Source) readChangeset(ctx context.Context, k kinto.Key, since int64, limit int, hd http.Header) (*kinto.Changeset, error) {
	resp, err := s.client.get(ctx, collectionPath(k), nil, hd)
	switch {
	case err != nil:
		return nil, err
	case resp.status == http.StatusNotFound:
		return &kinto.Changeset{}, nil
	case resp.status != http.StatusOK:
		return nil, upstreamError(resp)
	}
	meta := gjson.GetBytes(resp.body, "data")
	if !meta.IsObject() {
		return nil, fmt.Errorf("upstream collection %s/%s: answer without a data object", k.Bucket, k.Collection)
	}
	l, err := s.readList(ctx, k, listQuery{since: since, limit: limit, descending: true, tombstones: since > 0, strict: true}, hd)
	if err != nil || !l.exists {
		return &kinto.Changeset{}, err
	}
	return &kinto.Changeset{
		Metadata:          json.RawMessage(meta.Raw),
		MetadataTimestamp: meta.Get("last_modified").Int(),
		Timestamp:         l.etag,
		Changes:           l.items,
	}, nil
}

// listing is a read of a collection's records.
type listing struct {
	exists bool
	etag   int64
	items  []json.RawMessage
	// more reports a Next-Page left unread because of the limit.
	more bool
}

// listQuery is a read of a collection's records list.
type listQuery struct {
	since int64
	limit int
	// descending lists newest first; tombstones sends _since even when
	// 0, as Kinto lists tombstones exactly when _since is given.
	descending, tombstones bool
	// strict refuses a read the records changed under (errChanged), as
	// the reference changeset does; otherwise the read is cut to a
	// snapshot.
	strict bool
}

// readList reads the records changed after q.since, at most q.limit.
func (s *Source) readList(ctx context.Context, k kinto.Key, q listQuery, hd http.Header) (*listing, error) {
	v := url.Values{"_sort": {"last_modified"}}
	if q.descending {
		v.Set("_sort", "-last_modified")
	}
	future := q.since > time.Now().Add(futureSince).UnixMilli()
	switch {
	case future:
		// Nothing can be newer; only the timestamp is wanted.
		v.Set("_limit", "1")
	case q.since > 0 || q.tombstones:
		v.Set("_since", strconv.FormatInt(q.since, 10))
	}
	if q.limit > 0 && !future {
		v.Set("_limit", strconv.Itoa(q.limit))
	}
	l, err := s.pages(ctx, k, v, q.limit, q.strict, hd)
	switch {
	case err != nil || !l.exists:
		return l, err
	case future:
		l.items, l.more = nil, false
	case !q.strict:
		l.snapshot()
		return l, nil
	}
	if err := s.unchanged(ctx, k, l.etag, hd); err != nil {
		return nil, err
	}
	return l, nil
}

// snapshot drops the items newer than the first page's ETag. The upstream
// read that ETag before listing, and a write gives its record a timestamp
// above the collection's in the same transaction, so every change up to
// the ETag was committed by then: what is kept is a consistent prefix
// (oldest first), and the changes dropped come with the next read.
func (l *listing) snapshot() {
	kept := l.items[:0]
	for _, it := range l.items {
		if gjson.GetBytes(it, "last_modified").Int() <= l.etag {
			kept = append(kept, it)
		} else {
			l.more = true
		}
	}
	l.items = kept
}

// pages reads a records list, following Next-Page until limit items
// (0: all). Every page must carry the first page's ETag: otherwise a
// strict read fails (errChanged) and another stops there.
func (s *Source) pages(ctx context.Context, k kinto.Key, q url.Values, limit int, strict bool, hd http.Header) (*listing, error) {
	resp, err := s.client.get(ctx, recordsPath(k), q, hd)
	l := &listing{}
	for first := true; ; first = false {
		switch {
		case err != nil:
			return nil, err
		case resp.status == http.StatusNotFound && first:
			return l, nil
		case resp.status != http.StatusOK:
			return nil, upstreamError(resp)
		}
		ts := resp.etag()
		switch {
		case first:
			l.exists, l.etag = true, ts
		case ts != l.etag && strict:
			return nil, errChanged
		case ts != l.etag:
			l.more = true
			return l, nil
		}
		gjson.GetBytes(resp.body, "data").ForEach(func(_, v gjson.Result) bool {
			l.items = append(l.items, json.RawMessage(v.Raw))
			return limit <= 0 || len(l.items) < limit
		})
		next := resp.header.Get("Next-Page")
		if next == "" {
			return l, nil
		}
		if limit > 0 && len(l.items) >= limit {
			l.more = true
			return l, nil
		}
		u, perr := s.client.nextPage(next)
		if perr != nil {
			return nil, perr
		}
		resp, err = s.client.getURL(ctx, u, hd)
	}
}

// unchanged checks, after a read, that the records timestamp is still
// the one the read started with: a conditional request the upstream
// answers 304 without listing anything.
func (s *Source) unchanged(ctx context.Context, k kinto.Key, etag int64, hd http.Header) error {
	hd = hd.Clone()
	hd.Set("If-None-Match", strconv.Quote(strconv.FormatInt(etag, 10)))
	resp, err := s.client.get(ctx, recordsPath(k), url.Values{"_limit": {"1"}}, hd)
	switch {
	case err != nil:
		return err
	case resp.status == http.StatusNotModified:
		return nil
	case resp.status == http.StatusOK && resp.etag() == etag:
		// An upstream that ignores If-None-Match.
		return nil
	case resp.status == http.StatusOK || resp.status == http.StatusNotFound:
		return errChanged
	default:
		return upstreamError(resp)
	}
}
