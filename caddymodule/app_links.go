package caddymodule

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/changegate/changegate/docstore"
)

// The app links modules that work in front of a docstore (changes) to
// the docstore handler of the same config: its store, for the data, and
// its handler, for authentication, permissions and the capabilities of
// GET /v1/.
//
// Caddy provisions a route's handlers in order, so `changes` is
// provisioned before the `docstore` it sits in front of: a link is made
// by whichever of the two is provisioned second. Both are in the app of
// their config, so a reload links the new config's modules among
// themselves, before the old config is cleaned up, and the state pooled
// by storage survives it.

// docstoreEntry is a provisioned docstore handler.
type docstoreEntry struct {
	storage StorageConfig
	handler *docstore.Handler
	store   *docstore.Store
}

// docstoreClaim is a module that needs a docstore of its config: the one
// with the storage path it names, or the only one.
type docstoreClaim struct {
	// path is the storage named in the claim (a bolt file, a PostgreSQL
	// DSN), "" for any; abs is path made absolute, as bolt files are
	// compared.
	path, abs string
	// capability is added to every docstore the claim links to.
	capName string
	capBody map[string]any
	// link is called once, with the docstore chosen.
	link   func(*docstoreEntry) error
	linked *docstoreEntry
}

// registerDocstore records a provisioned docstore and links the waiting
// claims.
func (a *App) registerDocstore(storage StorageConfig, h *docstore.Handler, store *docstore.Store) error {
	e := &docstoreEntry{storage: storage, handler: h, store: store}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.docstores = append(a.docstores, e)
	for _, c := range a.claims {
		if !c.matches(e) {
			continue
		}
		if err := a.resolve(c); err != nil {
			a.docstores = a.docstores[:len(a.docstores)-1]
			return err
		}
		c.addCapability(e)
	}
	return nil
}

// claimDocstore records a module's need for a docstore and links it at
// once if the docstore is already there.
func (a *App) claimDocstore(c *docstoreClaim) error {
	if c.path != "" {
		abs, err := filepath.Abs(c.path)
		if err != nil {
			return fmt.Errorf("resolving docstore path %s: %v", c.path, err)
		}
		c.abs = abs
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.resolve(c); err != nil {
		return err
	}
	for _, e := range a.docstores {
		if c.matches(e) {
			c.addCapability(e)
		}
	}
	a.claims = append(a.claims, c)
	return nil
}

// matches reports whether e is a docstore the claim accepts.
func (c *docstoreClaim) matches(e *docstoreEntry) bool {
	return c.path == "" || c.abs == e.storage.Path || c.path == e.storage.Path
}

// resolve links the claim to its docstore when there is one, and fails
// when the claim names no storage but the config has docstores over
// different storages; a.mu is held.
func (a *App) resolve(c *docstoreClaim) error {
	var candidates []*docstoreEntry
	for _, e := range a.docstores {
		if c.matches(e) {
			candidates = append(candidates, e)
		}
	}
	if len(candidates) == 0 {
		return nil
	}
	for _, e := range candidates[1:] {
		if e.storage.key() != candidates[0].storage.key() {
			return errors.New("several docstores with different storages in this config: name the one `changes` reads with its `docstore <path>` option")
		}
	}
	if c.linked != nil {
		return nil
	}
	c.linked = candidates[0]
	return c.link(c.linked)
}

// addCapability lists the claim's capability on e's GET /v1/.
func (c *docstoreClaim) addCapability(e *docstoreEntry) {
	if c.capName != "" {
		e.handler.AddCapability(c.capName, c.capBody)
	}
}
