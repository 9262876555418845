package feeds

import "github.com/changegate/changegate/docstore"

// The embedded store keeps replication checkpoints and knows who may
// write them.
var (
	_ Checkpoints = docstore.ChangeSource{}
	_ Replicators = docstore.ChangeAccess{}
)
