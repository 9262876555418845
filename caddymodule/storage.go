package caddymodule

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/changegate/changegate/docstore"
	"github.com/changegate/changegate/docstore/bolt"
	"github.com/changegate/changegate/docstore/memory"
)

// stores holds the open document stores, shared by every config that
// names the same storage, so that a config reload (which provisions the
// new config before cleaning up the old one) neither opens a bbolt file
// twice, which would block on its lock, nor loses event subscribers.
var stores = caddy.NewUsagePool()

// StorageConfig selects the storage engine of the document store.
type StorageConfig struct {
	// Engine is the engine name: "bolt" (the default).
	Engine string `json:"engine,omitempty"`
	// Path is the bbolt database file. Default: changegate/changegate.db
	// under Caddy's data directory.
	Path string `json:"path,omitempty"`
}

// openStore is a Store with the engine it owns; it is the UsagePool value.
type openStore struct {
	store  *docstore.Store
	engine docstore.Engine
}

// Destruct closes the engine once no config uses it any more.
func (s *openStore) Destruct() error { return s.engine.Close() }

// key identifies the storage in the pool.
func (c StorageConfig) key() string { return c.Engine + ":" + c.Path }

// withDefaults fills in the engine and the default path.
func (c StorageConfig) withDefaults() (StorageConfig, error) {
	if c.Engine == "" {
		c.Engine = "bolt"
	}
	if err := checkEngine(c.Engine); err != nil {
		return c, fmt.Errorf("docstore storage: %v", err)
	}
	if c.Path == "" {
		c.Path = filepath.Join(caddy.AppDataDir(), "changegate", "changegate.db")
	}
	abs, err := filepath.Abs(c.Path)
	if err != nil {
		return c, fmt.Errorf("resolving storage path %s: %v", c.Path, err)
	}
	c.Path = abs
	return c, nil
}

// checkEngine refuses an engine name this build does not have.
func checkEngine(name string) error {
	if name != "bolt" {
		return fmt.Errorf("unknown engine %q: write `storage bolt [<path>]` (bolt is the only engine in this build)", name)
	}
	return nil
}

// acquireStore returns the shared store for c, opening it on first use.
// Every successful call must be matched by releaseStore.
func acquireStore(c StorageConfig) (*docstore.Store, error) {
	v, _, err := stores.LoadOrNew(c.key(), func() (caddy.Destructor, error) {
		engine, err := c.open()
		if err != nil {
			return nil, err
		}
		return &openStore{store: docstore.NewStore(engine), engine: engine}, nil
	})
	if errors.Is(err, fs.ErrPermission) {
		return nil, fmt.Errorf("opening %s storage %s: %v: the user changegate runs as must be able to write "+
			"that directory; change its owner, or name another file with `storage bolt <path>`", c.Engine, c.Path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s storage %s: %v", c.Engine, c.Path, err)
	}
	return v.(*openStore).store, nil
}

// open opens the engine c names; while a config is only being validated,
// an empty in-memory engine instead, which leaves the file alone.
func (c StorageConfig) open() (docstore.Engine, error) {
	if validatingOnly() {
		return memory.New(), nil
	}
	return bolt.Open(c.Path, bolt.Options{Timeout: lockWait})
}

// lockWait is how long opening waits for the file lock held by another
// handle. Within a process the usage pool shares one handle, config
// reloads included, so the holder is another process: say so at once
// rather than after a long wait.
const lockWait = 250 * time.Millisecond

// releaseStore drops one use of c's store, closing it after the last.
func releaseStore(c StorageConfig) error {
	_, err := stores.Delete(c.key())
	return err
}
