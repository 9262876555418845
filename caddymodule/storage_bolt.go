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

// Open opens the file, waiting a while for another process to let go of
// it.
func (BoltStorage) Open(path string) (docstore.Engine, error) {
	return bolt.Open(path, bolt.Options{Timeout: 10 * time.Second})
}

// Describe returns the path.
func (BoltStorage) Describe(path string) string { return path }

var _ StorageEngine = BoltStorage{}
