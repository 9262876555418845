package caddymodule

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/changegate/changegate/docstore"
	"github.com/changegate/changegate/docstore/bolt"
)

func init() {
	caddy.RegisterModule(BoltStorage{})
}

// BoltStorage is the embedded bbolt engine (docstore.storage.bolt): one
// file, one process.
type BoltStorage struct{}

// CaddyModule returns the Caddy module information.
func (BoltStorage) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  storageNamespace + ".bolt",
		New: func() caddy.Module { return new(BoltStorage) },
	}
}

// Locate defaults the file to changegate/changegate.db under Caddy's data
// directory and makes it absolute.
func (BoltStorage) Locate(path string) (string, error) {
	if path == "" {
		path = filepath.Join(caddy.AppDataDir(), "changegate", "changegate.db")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", fmt.Errorf("resolving storage path %s: %v", path, err)
	}
	return abs, nil
}

// Open opens the file. Within a process the usage pool shares one handle,
// config reloads included, so a held lock means another process: say so
// at once rather than after a long wait.
func (BoltStorage) Open(path string) (docstore.Engine, error) {
	return bolt.Open(path, bolt.Options{Timeout: lockWait})
}

// OpenReadOnly opens the file for reading only, leaving its storage
// format as it is: the source of `changegate docstore copy`.
func (BoltStorage) OpenReadOnly(path string) (docstore.Engine, error) {
	return bolt.Open(path, bolt.Options{ReadOnly: true, Timeout: lockWait})
}

// lockWait is how long opening waits for the file lock held by another
// handle.
const lockWait = 250 * time.Millisecond

// Describe returns the path.
func (BoltStorage) Describe(path string) string { return path }

var _ StorageEngine = BoltStorage{}
