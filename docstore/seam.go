package docstore

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/changegate/changegate/kinto"
)

// This file is the seam the `changes` package reads storage through
// (kinto.Source, by way of ChangeSource): every collection's records timestamp in one call, a
// collection's changes since a timestamp in one consistent read, and the
// event subscription (Store.Subscribe).

// RecordsTimestamps returns the records timestamp of every collection
// that has one (records were written, or the list was read), in one read.
func (s *Store) RecordsTimestamps(ctx context.Context) (map[kinto.Key]int64, error) {
	out := map[kinto.Key]int64{}
	err := s.engine.View(ctx, func(tx Tx) error {
		return tx.Timestamps(KindRecord, func(parent string, ts int64) error {
			if key, ok := parseCollectionURI(parent); ok {
				out[key] = ts
			}
			return nil
		})
	})
	return out, err
}

// parseCollectionURI reads /buckets/{bid}/collections/{cid}.
func parseCollectionURI(uri string) (kinto.Key, bool) {
	seg := strings.Split(uri, "/")
	if len(seg) != 5 || seg[0] != "" || seg[1] != "buckets" || seg[3] != "collections" {
		return kinto.Key{}, false
	}
	return kinto.Key{Bucket: seg[2], Collection: seg[4]}, true
}

// ReadChangeset reads a collection's changeset in one read transaction, so
// a write landing meanwhile is either wholly in it or wholly absent.
// since > 0 includes tombstones; limit <= 0 means no limit.
func (s *Store) ReadChangeset(ctx context.Context, bucket, collection string, since int64, limit int) (*kinto.Changeset, error) {
	var cs *kinto.Changeset
	err := s.read(ctx, func(o *op) error {
		var err error
		cs, err = o.changeset(bucket, collection, since, limit)
		return err
	})
	return cs, err
}

func (o *op) changeset(bucket, collection string, since int64, limit int) (*kinto.Changeset, error) {
	cs := &kinto.Changeset{}
	meta, err := o.get(ref{Kind: KindCollection, Bucket: bucket, ID: collection})
	if err != nil || meta == nil {
		return cs, err
	}
	bkt, err := o.get(ref{Kind: KindBucket, ID: bucket})
	if err != nil || bkt == nil {
		return cs, err
	}
	cs.Metadata, cs.MetadataTimestamp = meta.Data, meta.LastModified
	parent := CollectionURI(bucket, collection)
	if cs.Timestamp, err = o.listTimestamp(parent, KindRecord); err != nil {
		return nil, err
	}
	opts := ScanOptions{Since: since, IncludeDeleted: since > 0}
	err = o.tx.Scan(parent, KindRecord, opts, func(obj *Object) (bool, error) {
		data := obj.Data
		if obj.Deleted {
			data = tombstoneData(obj)
		}
		cs.Changes = append(cs.Changes, data)
		return limit <= 0 || len(cs.Changes) < limit, nil
	})
	return cs, err
}

// ReadChanges reads a collection's changes (records and tombstones) after
// q.Since in last_modified order, in one read transaction, for the
// CouchDB-style change feeds. Unlike ReadChangeset it never stores a
// records timestamp: a feed reading a collection is not a write.
func (s *Store) ReadChanges(ctx context.Context, bucket, collection string, q kinto.ChangesQuery) (*kinto.ChangesPage, error) {
	page := &kinto.ChangesPage{}
	err := s.engine.View(ctx, func(tx Tx) error {
		*page = kinto.ChangesPage{}
		o := &op{s: s, tx: tx}
		return o.changes(bucket, collection, q, page)
	})
	return page, err
}

func (o *op) changes(bucket, collection string, q kinto.ChangesQuery, page *kinto.ChangesPage) error {
	exists, err := o.collectionExists(bucket, collection)
	if err != nil || !exists {
		return err
	}
	page.Exists = true
	parent := CollectionURI(bucket, collection)
	if page.Timestamp, _, err = o.tx.Timestamp(parent, KindRecord); err != nil {
		return err
	}
	opts := ScanOptions{Since: q.Since, IncludeDeleted: true, Ascending: !q.Descending, NoPermissions: true}
	if q.Limit > 0 {
		n := min(q.Limit, 1024)
		page.Changes, page.Meta = make([]json.RawMessage, 0, n), make([]kinto.ChangeMeta, 0, n)
	}
	full := false
	err = o.tx.Scan(parent, KindRecord, opts, func(obj *Object) (bool, error) {
		if q.Limit > 0 && len(page.Changes) == q.Limit {
			full = true
			return false, nil
		}
		data := obj.Data
		if obj.Deleted {
			data = tombstoneData(obj)
		}
		page.Changes = append(page.Changes, data)
		page.Meta = append(page.Meta, changeMeta(obj))
		return true, nil
	})
	switch {
	case err != nil || !full:
		return err
	case q.NoPending:
		page.Pending = -1
		return nil
	}
	return o.countAfter(parent, page, opts)
}

// changeMeta is what identifies obj's change.
func changeMeta(obj *Object) kinto.ChangeMeta {
	return kinto.ChangeMeta{ID: obj.ID, LastModified: obj.LastModified, Deleted: obj.Deleted, Generation: obj.Generation}
}

// ReadDocs reads the current version (record or tombstone) of each id in
// one read transaction, for replicators asking for documents by id.
func (s *Store) ReadDocs(ctx context.Context, bucket, collection string, ids []string) (*kinto.ChangesPage, error) {
	page := &kinto.ChangesPage{}
	err := s.engine.View(ctx, func(tx Tx) error {
		*page = kinto.ChangesPage{}
		o := &op{s: s, tx: tx}
		exists, err := o.collectionExists(bucket, collection)
		if err != nil || !exists {
			return err
		}
		page.Exists = true
		objs, err := getVersions(tx, CollectionURI(bucket, collection), KindRecord, ids)
		for _, obj := range objs {
			data := obj.Data
			if obj.Deleted {
				data = tombstoneData(obj)
			}
			page.Changes = append(page.Changes, data)
			page.Meta = append(page.Meta, changeMeta(obj))
		}
		return err
	})
	return page, err
}

// VersionsReader is an optional Tx method for engines where every read
// is a round trip to a server (PostgreSQL): the stored versions of
// several ids of one list in one read.
type VersionsReader interface {
	// GetVersions returns the object or tombstone of each id stored, in
	// any order, with no permissions.
	GetVersions(parent, kind string, ids []string) ([]*Object, error)
}

// getVersions reads the stored versions of ids, in one read when the
// engine can.
func getVersions(tx Tx, parent, kind string, ids []string) ([]*Object, error) {
	if r, ok := tx.(VersionsReader); ok {
		return r.GetVersions(parent, kind, ids)
	}
	var out []*Object
	for _, id := range ids {
		obj, err := tx.GetVersion(parent, kind, id)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, obj)
	}
	return out, nil
}

// collectionExists reports whether the collection and its bucket exist.
func (o *op) collectionExists(bucket, collection string) (bool, error) {
	meta, err := o.get(ref{Kind: KindCollection, Bucket: bucket, ID: collection})
	if err != nil || meta == nil {
		return false, err
	}
	bkt, err := o.get(ref{Kind: KindBucket, ID: bucket})
	return bkt != nil, err
}

// countAfter counts, into page.Pending, the changes a limited read left
// out: a second walk from the last change read, decoding nothing.
func (o *op) countAfter(parent string, page *kinto.ChangesPage, opts ScanOptions) error {
	last := page.Meta[len(page.Meta)-1]
	opts.Bare = true
	if opts.Ascending {
		opts.Since = last.LastModified
	}
	return o.tx.Scan(parent, KindRecord, opts, func(obj *Object) (bool, error) {
		if !opts.Ascending && obj.LastModified >= last.LastModified {
			return true, nil
		}
		page.Pending++
		return true, nil
	})
}
