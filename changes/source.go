package changes

import "context"

// Syncer is implemented by sources that other writers share (docstore
// instances on one PostgreSQL database): Sync returns once the events of
// every write committed before the call have reached the subscribers, so
// the registry and the changeset cache built from them are as fresh as
// storage for a request that waited for it.
type Syncer interface {
	Sync(ctx context.Context) error
}
