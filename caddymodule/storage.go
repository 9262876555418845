package caddymodule

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"

	"github.com/caddyserver/caddy/v2"

	"github.com/changegate/changegate/docstore"
	"github.com/changegate/changegate/docstore/memory"
	"github.com/changegate/changegate/kinto"
)

// stores holds the open document stores, shared by every config that
// names the same storage, so that a config reload (which provisions the
// new config before cleaning up the old one) neither opens a bbolt file
// twice, which would block on its lock, nor a second PostgreSQL pool and
// listener, nor loses event subscribers.
var stores = caddy.NewUsagePool()

// storageNamespace is the Caddy module namespace of storage engines: the
// engine named "bolt" in a config is module docstore.storage.bolt, so a
// custom build can add engines without touching the docstore module.
const storageNamespace = "docstore.storage"

// StorageEngine is implemented by the modules of namespace
// docstore.storage.
type StorageEngine interface {
	caddy.Module
	// Locate checks and normalises the location a config gives (a file
	// path made absolute, a DSN), which identifies the storage: configs
	// naming the same location share one engine.
	Locate(location string) (string, error)
	// Open opens the engine at a location Locate returned.
	Open(location string) (docstore.Engine, error)
	// Describe renders a location for messages, without secrets.
	Describe(location string) string
}

// Listener is implemented by engines that several processes share: Listen
// relays the writes others commit until ctx ends.
type Listener interface {
	Listen(ctx context.Context, log *slog.Logger, publish func([]kinto.Event))
}

// StorageConfig selects the storage engine of the document store.
type StorageConfig struct {
	// Engine is the engine name, a module of namespace docstore.storage:
	// "bolt" (the default) or "postgres".
	Engine string `json:"engine,omitempty"`
	// Path is where the engine keeps its data: the bbolt database file
	// (default: changegate/changegate.db under Caddy's data directory) or
	// the PostgreSQL DSN. Placeholders such as {env.DATABASE_URL} are
	// replaced.
	Path string `json:"path,omitempty"`

	engine StorageEngine
}

// openStore is a Store with the engine it owns; it is the UsagePool value.
type openStore struct {
	store  *docstore.Store
	engine docstore.Engine
	// stop ends the engine's listener, if it has one.
	stop context.CancelFunc
}

// Destruct stops the listener and closes the engine once no config uses
// it any more.
func (s *openStore) Destruct() error {
	s.stop()
	return s.engine.Close()
}

// key identifies the storage in the pool.
func (c StorageConfig) key() string { return c.Engine + ":" + c.Path }

// describe names the storage in messages.
func (c StorageConfig) describe() string {
	if c.engine == nil {
		return c.Engine
	}
	return c.Engine + " storage " + c.engine.Describe(c.Path)
}

// withDefaults loads the engine's module and normalises the location.
func (c StorageConfig) withDefaults() (StorageConfig, error) {
	if c.Engine == "" {
		c.Engine = "bolt"
	}
	engine, err := loadEngine(c.Engine)
	if err != nil {
		return c, fmt.Errorf("docstore storage: %v", err)
	}
	c.engine = engine
	c.Path, err = engine.Locate(caddy.NewReplacer().ReplaceKnown(c.Path, ""))
	if err != nil {
		return c, fmt.Errorf("%s storage: %v", c.Engine, err)
	}
	return c, nil
}

// loadEngine returns the storage engine module of that name.
func loadEngine(name string) (StorageEngine, error) {
	info, err := caddy.GetModule(storageNamespace + "." + name)
	if err != nil {
		return nil, fmt.Errorf("unknown engine %q: write `storage bolt [<path>]` or `storage postgres <dsn>`", name)
	}
	engine, ok := info.New().(StorageEngine)
	if !ok {
		return nil, fmt.Errorf("module %s is not a storage engine", info.ID)
	}
	return engine, nil
}

// checkEngine refuses an engine name this build does not have, at adapt.
func checkEngine(name string) error {
	_, err := loadEngine(name)
	return err
}

// acquireStore returns the shared store for c (as withDefaults returned
// it), opening it on first use and starting its listener when the engine
// has one. Every successful call must be matched by releaseStore.
func acquireStore(c StorageConfig, log *slog.Logger) (*docstore.Store, error) {
	v, _, err := stores.LoadOrNew(c.key(), func() (caddy.Destructor, error) {
		engine, err := c.open()
		if err != nil {
			return nil, err
		}
		logUpgrade(log, c, engine)
		s := &openStore{store: docstore.NewStore(engine), engine: engine, stop: func() {}}
		if l, ok := engine.(Listener); ok {
			// The listener outlives the config that opened it: the pool
			// value is shared by every config until the last lets go.
			ctx, cancel := context.WithCancel(context.Background())
			s.stop = cancel
			go l.Listen(ctx, log, s.store.Publish)
		}
		return s, nil
	})
	if errors.Is(err, fs.ErrPermission) {
		return nil, fmt.Errorf("opening %s: %v: the user changegate runs as must be able to write "+
			"that directory; change its owner, or name another file with `storage bolt <path>`", c.describe(), err)
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s: %v", c.describe(), err)
	}
	return v.(*openStore).store, nil
}

// formatUpgrader is an engine that may have upgraded its storage format
// when opened (bolt).
type formatUpgrader interface {
	FormatUpgrade() (from, to uint64, ok bool)
}

// logUpgrade tells the operator that opening upgraded the storage: an
// older changegate no longer opens it.
func logUpgrade(log *slog.Logger, c StorageConfig, engine docstore.Engine) {
	if u, ok := engine.(formatUpgrader); ok {
		if from, to, ok := u.FormatUpgrade(); ok {
			log.Warn("upgraded the storage format: changegate versions that read only the old format refuse it now",
				"storage", c.describe(), "from_format", from, "to_format", to)
		}
	}
}

// releaseStore drops one use of c's store, closing it after the last.
func releaseStore(c StorageConfig) error {
	_, err := stores.Delete(c.key())
	return err
}

// open opens the engine c names; while a config is only being validated,
// an empty in-memory engine instead, which leaves the file or database
// alone.
func (c StorageConfig) open() (docstore.Engine, error) {
	if validatingOnly() {
		return memory.New(), nil
	}
	return c.engine.Open(c.Path)
}
