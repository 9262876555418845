package docstore

import (
	"context"
	"encoding/json"
	"strings"
)

// This file is the seam the `changes` package reads storage through
// (DESIGN.md): every collection's records timestamp in one call, a
// collection's changes since a timestamp in one consistent read, and the
// event subscription (Store.Subscribe).

// CollectionKey names a collection.
type CollectionKey struct {
	Bucket, Collection string
}

// RecordsTimestamps returns the records timestamp of every collection
// that has one (records were written, or the list was read), in one read.
func (s *Store) RecordsTimestamps(ctx context.Context) (map[CollectionKey]int64, error) {
	out := map[CollectionKey]int64{}
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
func parseCollectionURI(uri string) (CollectionKey, bool) {
	seg := strings.Split(uri, "/")
	if len(seg) != 5 || seg[0] != "" || seg[1] != "buckets" || seg[3] != "collections" {
		return CollectionKey{}, false
	}
	return CollectionKey{Bucket: seg[2], Collection: seg[4]}, true
}

// Changeset is a consistent view of a collection: its metadata, its
// records timestamp and its records changed since a timestamp.
type Changeset struct {
	// Metadata is the collection object's data; nil when the collection
	// does not exist.
	Metadata json.RawMessage
	// MetadataTimestamp is the collection object's last_modified.
	MetadataTimestamp int64
	// Timestamp is the records timestamp.
	Timestamp int64
	// Changes are the records (and, when Since > 0, tombstones) newer
	// than Since, newest first, at most Limit of them.
	Changes []json.RawMessage
}

// ReadChangeset reads a collection's changeset in one read transaction, so
// a write landing meanwhile is either wholly in it or wholly absent.
// since > 0 includes tombstones; limit <= 0 means no limit.
func (s *Store) ReadChangeset(ctx context.Context, bucket, collection string, since int64, limit int) (*Changeset, error) {
	var cs *Changeset
	err := s.read(ctx, func(o *op) error {
		var err error
		cs, err = o.changeset(bucket, collection, since, limit)
		return err
	})
	return cs, err
}

func (o *op) changeset(bucket, collection string, since int64, limit int) (*Changeset, error) {
	cs := &Changeset{}
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
