package docstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
)

// This file is the seam the CouchDB replication source of the `changes`
// package stores its checkpoints through (CouchDB's _local documents),
// and the write permission that guards them.

// KindCheckpoint is the kind of a replication checkpoint, stored under
// its collection's URI: no records list, changeset or change feed reads
// this kind, and deleting the collection (or its bucket) removes it with
// the rest of the tree.
const KindCheckpoint = "replication-checkpoint"

// checkpointID names a checkpoint by its owner and its CouchDB id; the
// owner is hashed so that a user id never lands in a storage key.
func checkpointID(owner, id string) string {
	sum := sha256.Sum256([]byte(owner))
	return hex.EncodeToString(sum[:16]) + ":" + id
}

// ReadCheckpoint returns the checkpoint id of owner in a collection, nil
// when there is none; exists reports whether the collection exists.
func (s *Store) ReadCheckpoint(ctx context.Context, bucket, collection, owner, id string) (doc json.RawMessage, exists bool, err error) {
	err = s.engine.View(ctx, func(tx Tx) error {
		doc, exists = nil, false
		o := &op{s: s, tx: tx}
		coll, err := o.get(ref{Kind: KindCollection, Bucket: bucket, ID: collection})
		if err != nil || coll == nil {
			return err
		}
		exists = true
		obj, err := tx.Get(CollectionURI(bucket, collection), KindCheckpoint, checkpointID(owner, id))
		if errors.Is(err, ErrNotFound) {
			return nil
		}
		if err == nil {
			doc = obj.Data
		}
		return err
	})
	return doc, exists, err
}

// WriteCheckpoint replaces a checkpoint with what update makes of the
// one stored (nil: none), unless update declines; a nil document
// deletes. exists reports whether the collection exists. Checkpoints are
// not Kinto objects: no timestamp moves and no event is published.
// update may run more than once (Engine.Update).
func (s *Store) WriteCheckpoint(ctx context.Context, bucket, collection, owner, id string, update func(cur json.RawMessage) (json.RawMessage, bool)) (written, exists bool, err error) {
	err = s.engine.Update(ctx, func(tx Tx) error {
		written, exists = false, false
		o := &op{s: s, tx: tx, writable: true}
		coll, err := o.get(ref{Kind: KindCollection, Bucket: bucket, ID: collection})
		if err != nil || coll == nil {
			return err
		}
		exists = true
		parent, key := CollectionURI(bucket, collection), checkpointID(owner, id)
		var cur json.RawMessage
		obj, err := tx.Get(parent, KindCheckpoint, key)
		switch {
		case err == nil:
			cur = obj.Data
		case !errors.Is(err, ErrNotFound):
			return err
		}
		doc, ok := update(cur)
		if !ok {
			return nil
		}
		written = true
		if doc == nil {
			return tx.Put(parent, KindCheckpoint, &Object{ID: key, LastModified: s.nowMillis(), Deleted: true})
		}
		return tx.Put(parent, KindCheckpoint, &Object{ID: key, LastModified: s.nowMillis(), Data: doc})
	})
	return written, exists, err
}

// CanWriteCollection reports whether the caller may write a collection's
// records as a whole (Kinto's write permission on the collection or its
// bucket): nil when allowed, else Kinto's 401 (anonymous) or 403.
func (h *Handler) CanWriteCollection(ctx context.Context, c *Caller, bucket, collection string) error {
	if h.cfg.InsecureAllowAll {
		return nil
	}
	coll := ref{Kind: KindCollection, Bucket: bucket, ID: collection}
	return h.store.read(ctx, func(o *op) error {
		ok, err := o.granted(c.id, lineage(coll), grants[KindCollection][permWrite])
		if err != nil {
			return err
		}
		if !ok {
			return h.errUnauthorized(c.id)
		}
		return nil
	})
}
