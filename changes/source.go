package changes

import (
	"context"

	"github.com/changegate/changegate/kinto"
)

// The change seam is kinto's; these names keep the package's own
// spelling (changes.Key, changes.Source...) for its many users.
type (
	// Key names a collection.
	Key = kinto.Key
	// Event reports one committed write.
	Event = kinto.Event
	// Changeset is a consistent view of one collection.
	Changeset = kinto.Changeset
	// Source is where changes come from: the embedded docstore or an
	// upstream Kinto server.
	Source = kinto.Source
	// ChangesQuery asks a Source for a collection's changes.
	ChangesQuery = kinto.ChangesQuery
	// ChangesPage is one read of a collection's changes.
	ChangesPage = kinto.ChangesPage
	// ChangeMeta is what identifies a change.
	ChangeMeta = kinto.ChangeMeta
	// Access applies the store's identities, permissions and common
	// response headers to the endpoints this package answers.
	Access = kinto.Access
)

// Kinds of objects an Event can be about.
const (
	KindRecord     = kinto.KindRecord
	KindCollection = kinto.KindCollection
	KindBucket     = kinto.KindBucket
	KindGroup      = kinto.KindGroup
)

// Syncer is implemented by sources that other writers share (docstore
// instances on one PostgreSQL database): Sync returns once the events of
// every write committed before the call have reached the subscribers, so
// the registry and the changeset cache built from them are as fresh as
// storage for a request that waited for it.
type Syncer interface {
	Sync(ctx context.Context) error
}
