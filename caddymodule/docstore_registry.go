package caddymodule

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"

	"github.com/caddyserver/caddy/v2"

	"github.com/changegate/changegate/docstore"
)

// The docstore registry links modules that work in front of a docstore
// (changes) to the docstore handler of the same config: its store, for
// the data, and its handler, for authentication, permissions and the
// capabilities of GET /v1/.
//
// Caddy provisions a route's handlers in order, so `changes` is
// provisioned before the `docstore` it sits in front of; on a reload the
// new config is provisioned while the old one still runs. Links are
// therefore made within one config (identified by its context's Done
// channel, shared by every module of a config), by whichever of the two
// is provisioned second, and before the old config is cleaned up, so
// that state pooled by storage survives reloads.

// configID identifies the config a module was provisioned in.
type configID = <-chan struct{}

// docstoreEntry is a provisioned docstore handler.
type docstoreEntry struct {
	config  configID
	storage StorageConfig
	handler *docstore.Handler
	store   *docstore.Store
}

// docstoreClaim is a module that needs a docstore of its config: the one
// with the storage path it names, or the only one.
type docstoreClaim struct {
	config configID
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

var docstores struct {
	mu      sync.Mutex
	entries []*docstoreEntry
	claims  []*docstoreClaim
}

// registerDocstore records a provisioned docstore and links the waiting
// claims of its config. The returned function unregisters it.
func registerDocstore(ctx caddy.Context, storage StorageConfig, h *docstore.Handler, store *docstore.Store) (func(), error) {
	e := &docstoreEntry{config: ctx.Done(), storage: storage, handler: h, store: store}
	docstores.mu.Lock()
	defer docstores.mu.Unlock()
	docstores.entries = append(docstores.entries, e)
	for _, c := range docstores.claims {
		if c.config != e.config || !c.matches(e) {
			continue
		}
		if err := c.resolve(); err != nil {
			docstores.entries = slices.DeleteFunc(docstores.entries, func(x *docstoreEntry) bool { return x == e })
			return nil, err
		}
		c.addCapability(e)
	}
	return func() {
		docstores.mu.Lock()
		defer docstores.mu.Unlock()
		docstores.entries = slices.DeleteFunc(docstores.entries, func(x *docstoreEntry) bool { return x == e })
	}, nil
}

// claimDocstore records a module's need for a docstore of its config and
// links it at once if the docstore is already there. The returned
// function drops the claim.
func claimDocstore(ctx caddy.Context, c *docstoreClaim) (func(), error) {
	if c.path != "" {
		abs, err := filepath.Abs(c.path)
		if err != nil {
			return nil, fmt.Errorf("resolving docstore path %s: %v", c.path, err)
		}
		c.abs = abs
	}
	c.config = ctx.Done()
	docstores.mu.Lock()
	defer docstores.mu.Unlock()
	if err := c.resolve(); err != nil {
		return nil, err
	}
	for _, e := range docstores.entries {
		if e.config == c.config && c.matches(e) {
			c.addCapability(e)
		}
	}
	docstores.claims = append(docstores.claims, c)
	return func() {
		docstores.mu.Lock()
		defer docstores.mu.Unlock()
		docstores.claims = slices.DeleteFunc(docstores.claims, func(x *docstoreClaim) bool { return x == c })
	}, nil
}

// matches reports whether e is a docstore the claim accepts.
func (c *docstoreClaim) matches(e *docstoreEntry) bool {
	return c.path == "" || c.abs == e.storage.Path || c.path == e.storage.Path
}

// resolve links the claim to its docstore when there is one, and fails
// when the claim names no storage but its config has docstores over
// different storages; docstores.mu is held.
func (c *docstoreClaim) resolve() error {
	var candidates []*docstoreEntry
	for _, e := range docstores.entries {
		if e.config == c.config && c.matches(e) {
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
