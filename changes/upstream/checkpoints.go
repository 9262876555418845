package upstream

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"slices"
	"sync"

	"github.com/tidwall/gjson"

	"github.com/changegate/changegate/feeds"
	"github.com/changegate/changegate/kinto"
)

// A sidecar keeps replication checkpoints (CouchDB's _local documents)
// in memory, per collection and per set of credentials: a Kinto upstream
// has nowhere to put them out of sight of its records. They are lost
// with the process (a replicator then starts over from its target's
// checkpoint, or from the start) and dropped when the sidecar learns
// that their collection or bucket was deleted.

// checkpoints is the sidecar's store of checkpoints.
type checkpoints struct {
	once sync.Once
	mu   sync.Mutex
	docs map[kinto.Key]map[string]json.RawMessage
}

// keep starts dropping checkpoints with their collection.
func (s *Source) keepCheckpoints() *checkpoints {
	c := &s.checkpoints
	c.once.Do(func() {
		c.docs = map[kinto.Key]map[string]json.RawMessage{}
		s.Subscribe(func(ev kinto.Event) {
			if !ev.Deleted || (ev.Kind != kinto.KindCollection && ev.Kind != kinto.KindBucket) {
				return
			}
			c.mu.Lock()
			defer c.mu.Unlock()
			for k := range c.docs {
				if k.Bucket == ev.Bucket && (ev.Kind == kinto.KindBucket || k.Collection == ev.Collection) {
					delete(c.docs, k)
				}
			}
		})
	})
	return c
}

// ReadCheckpoint returns owner's checkpoint id in collection k.
func (s *Source) ReadCheckpoint(_ context.Context, k kinto.Key, owner, id string) (json.RawMessage, bool, error) {
	c := s.keepCheckpoints()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.docs[k][owner+"\x00"+id], true, nil
}

// WriteCheckpoint replaces owner's checkpoint id in collection k with
// what update makes of it.
func (s *Source) WriteCheckpoint(_ context.Context, k kinto.Key, owner, id string, update func(json.RawMessage) (json.RawMessage, bool)) (bool, bool, error) {
	c := s.keepCheckpoints()
	c.mu.Lock()
	defer c.mu.Unlock()
	name := owner + "\x00" + id
	doc, ok := update(c.docs[k][name])
	switch {
	case !ok:
		return false, true, nil
	case doc == nil:
		delete(c.docs[k], name)
	default:
		if c.docs[k] == nil {
			c.docs[k] = map[string]json.RawMessage{}
		}
		c.docs[k][name] = doc
	}
	return true, true, nil
}

// Owner names the client by its credentials ("" without any).
func (a Access) Owner(r *http.Request) (string, error) {
	hd := a.src.clientHeaders(r)
	if len(hd) == 0 {
		return "", nil
	}
	fp := fingerprint(hd)
	return hex.EncodeToString(fp[:]), nil
}

// CanWrite asks the upstream whether the client holds the write
// permission of the collection or its bucket: its principals (GET /),
// and the write principals of both objects as the upstream shows them
// to the client. Anonymous clients get Kinto's 401, others 403. A yes
// is reused as CanRead's are (PouchDB writes a checkpoint per batch).
func (a Access) CanWrite(r *http.Request, k kinto.Key) error {
	s := a.src
	hd := s.clientHeaders(r)
	if hd.Get("Authorization") == "" {
		return kinto.NewError(http.StatusUnauthorized, kinto.ErrnoMissingAuthToken, "Please authenticate yourself to use this endpoint.")
	}
	// A key no collection has: collection ids cannot hold NUL.
	dk := decisionKey{Key: kinto.Key{Bucket: k.Bucket, Collection: "\x00write\x00" + k.Collection}, who: fingerprint(hd)}
	if s.auth.allowed(dk) {
		return nil
	}
	gen := s.auth.gen.Load()
	root, err := s.client.get(r.Context(), "/", nil, hd)
	if err != nil {
		return s.check(err)
	}
	var principals []string
	for _, p := range gjson.GetBytes(root.body, "user.principals").Array() {
		principals = append(principals, p.String())
	}
	for _, path := range []string{collectionPath(k), "/buckets/" + k.Bucket} {
		resp, err := s.client.get(r.Context(), path, nil, hd)
		if err != nil {
			return s.check(err)
		}
		for _, p := range gjson.GetBytes(resp.body, "permissions.write").Array() {
			if slices.Contains(principals, p.String()) {
				s.auth.allow(dk, gen)
				return nil
			}
		}
	}
	return kinto.NewError(http.StatusForbidden, kinto.ErrnoForbidden, "This user cannot access this resource.")
}

// Interface guards
var (
	_ feeds.Checkpoints = (*Source)(nil)
	_ feeds.Replicators = Access{}
)
