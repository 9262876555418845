// Package memory is a docstore.Engine in memory, for tests of the layers
// above engines. It is transactional (an Update that fails leaves nothing)
// and copies objects in and out so callers cannot reach stored state, but
// it makes no effort to be fast.
package memory

import (
	"context"
	"errors"
	"sync"

	"github.com/changegate/changegate/docstore"
)

var errEngineClosed = errors.New("memory engine is closed")

// set identifies the objects (or the timestamp) of one (parent, kind).
type set struct{ parent, kind string }

// Engine is an in-memory docstore.Engine. Updates run one at a time and
// exclude Views, so every View sees committed state only (and a View
// started from inside an Update's fn would deadlock).
type Engine struct {
	mu     sync.RWMutex
	closed bool
	// objects holds stored objects, which are never modified in place:
	// Put replaces the pointer, so a Scan's snapshot stays intact.
	objects    map[set]map[string]*docstore.Object
	timestamps map[set]int64
}

var _ docstore.Engine = (*Engine)(nil)

// New returns an empty engine.
func New() *Engine {
	return &Engine{
		objects:    make(map[set]map[string]*docstore.Object),
		timestamps: make(map[set]int64),
	}
}

// Update runs fn with the engine locked for writing. Writes apply directly
// and each records how to undo it; they are undone in reverse order when fn
// fails or panics.
func (e *Engine) Update(ctx context.Context, fn func(docstore.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errEngineClosed
	}
	t := &tx{e: e, writable: true}
	committed := false
	defer func() {
		if !committed {
			t.rollback()
		}
		t.closed = true
	}()
	if err := fn(t); err != nil {
		return err
	}
	committed = true
	return nil
}

// View runs fn with the engine locked for reading.
func (e *Engine) View(ctx context.Context, fn func(docstore.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	e.mu.RLock()
	defer e.mu.RUnlock()
	if e.closed {
		return errEngineClosed
	}
	t := &tx{e: e}
	defer func() { t.closed = true }()
	return fn(t)
}

// Close makes later transactions fail.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	return nil
}
