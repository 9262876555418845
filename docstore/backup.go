package docstore

import "io"

// Snapshotter is an engine that can copy a consistent snapshot of itself
// while it serves (the bolt engine): the online backup.
type Snapshotter interface {
	// Snapshot writes the copy to w; begin is called with its size once
	// the snapshot is taken, before the first byte is written.
	Snapshot(w io.Writer, begin func(size int64)) (int64, error)
}

// Sizer is an engine that knows how many bytes it stores.
type Sizer interface {
	Size() (int64, error)
}
