package changes

import (
	"context"
	"encoding/json"
	"net/http"
)

// ReadCheckpoint reads a replication checkpoint from the docstore.
func (s DocstoreSource) ReadCheckpoint(ctx context.Context, key Key, owner, id string) (json.RawMessage, bool, error) {
	return s.Store.ReadCheckpoint(ctx, key.Bucket, key.Collection, owner, id)
}

// WriteCheckpoint writes a replication checkpoint in the docstore.
func (s DocstoreSource) WriteCheckpoint(ctx context.Context, key Key, owner, id string, update func(json.RawMessage) (json.RawMessage, bool)) (bool, bool, error) {
	return s.Store.WriteCheckpoint(ctx, key.Bucket, key.Collection, owner, id, update)
}

// Owner is the caller's user id ("" when anonymous).
func (a DocstoreAccess) Owner(r *http.Request) (string, error) {
	caller, err := a.Handler.Identify(r)
	if err != nil {
		return "", err
	}
	return caller.UserID(), nil
}

// CanWrite checks the collection's write permission.
func (a DocstoreAccess) CanWrite(r *http.Request, key Key) error {
	caller, err := a.Handler.Identify(r)
	if err != nil {
		return err
	}
	return a.Handler.CanWriteCollection(r.Context(), caller, key.Bucket, key.Collection)
}

// Interface guards
var (
	_ Checkpoints = DocstoreSource{}
	_ Replicators = DocstoreAccess{}
)
