package feeds

import "github.com/changegate/changegate/kinto"

// The change seam is kinto's; the feeds read it under these names.
type (
	// Key names a collection.
	Key = kinto.Key
	// Event reports one committed write.
	Event = kinto.Event
	// Source is where changes come from.
	Source = kinto.Source
	// ChangesQuery asks a Source for a collection's changes.
	ChangesQuery = kinto.ChangesQuery
	// Access applies the store's identities, permissions and headers.
	Access = kinto.Access
)

// Kinds of objects an Event can be about.
const (
	KindRecord     = kinto.KindRecord
	KindCollection = kinto.KindCollection
	KindBucket     = kinto.KindBucket
)
