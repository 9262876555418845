package feeds

import (
	"github.com/changegate/changegate/docstore"
	"github.com/changegate/changegate/kinto"
)

// The embedded store keeps replication checkpoints, knows who may write
// them, and reads documents by id.
var (
	_ Checkpoints     = docstore.ChangeSource{}
	_ Replicators     = docstore.ChangeAccess{}
	_ kinto.DocReader = docstore.ChangeSource{}
)
