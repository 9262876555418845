package docstore

// ObjectKey names one object: its parent URI, kind and id.
type ObjectKey struct{ Parent, Kind, ID string }

// Prefetcher is an optional Tx method for engines where every read is a
// round trip to a server (PostgreSQL): GetMany reads several objects in
// one. last tells the engine that the caller expects no other read in
// this transaction, so that it may run the read as a single statement
// outside a transaction; an engine that then sees another read runs the
// whole callback again in a transaction.
type Prefetcher interface {
	// GetMany returns the live object of each key, nil where there is
	// none (or a tombstone), in the order of keys.
	GetMany(keys []ObjectKey, last bool) ([]*Object, error)
	// PrefetchTimestamp asks the transaction's next GetMany to read the
	// timestamp of (parent, kind) in the same round trip, for the
	// Timestamp call that follows.
	PrefetchTimestamp(parent, kind string)
}

// GetMany forwards to the engine's Prefetcher. Without one it reads
// nothing and returns nil: the caller then reads each object itself.
func (g guardTx) GetMany(keys []ObjectKey, last bool) ([]*Object, error) {
	p, ok := g.tx.(Prefetcher)
	if !ok {
		return nil, nil
	}
	objs, err := p.GetMany(keys, last)
	return objs, asBackendError(err)
}

// PrefetchTimestamp forwards to the engine's Prefetcher, when it has one.
func (g guardTx) PrefetchTimestamp(parent, kind string) {
	if p, ok := g.tx.(Prefetcher); ok {
		p.PrefetchTimestamp(parent, kind)
	}
}

// prefetch reads in one engine call the objects a request about r reads
// first: its bucket, its collection, and r itself when it names one
// object, so that a record GET costs one read on a server engine; for a
// read of a list or a write, the list's timestamp too. reading is true for GET and HEAD:
// then a read of one object likely reads nothing else.
func (o *op) prefetch(r ref, reading bool) error {
	p, ok := o.tx.(Prefetcher)
	if !ok {
		return nil
	}
	last := reading && !r.plural()
	if (reading && r.plural() && !o.writable) || !reading {
		// A write reads its list's timestamp next, and an engine takes
		// the list's ordering lock with that read.
		p.PrefetchTimestamp(r.parent(), r.Kind)
	}
	var refs []ref
	if r.Kind != KindBucket && validID(r.Bucket) {
		refs = append(refs, ref{Kind: KindBucket, ID: r.Bucket})
		if r.Kind == KindRecord && validID(r.Collection) {
			refs = append(refs, ref{Kind: KindCollection, Bucket: r.Bucket, ID: r.Collection})
		}
	}
	if !r.plural() {
		refs = append(refs, r)
	}
	var keys []ObjectKey
	var wanted []ref
	for _, x := range refs {
		if _, ok := o.seen[x]; !ok {
			keys = append(keys, ObjectKey{Parent: x.parent(), Kind: x.Kind, ID: x.ID})
			wanted = append(wanted, x)
		}
	}
	if len(keys) == 0 {
		return nil
	}
	objs, err := p.GetMany(keys, last)
	if err != nil || objs == nil {
		return err
	}
	for i, x := range wanted {
		o.remember(x, objs[i])
	}
	return nil
}
