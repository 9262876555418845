// Package changes implements Kinto's change aggregation, as the Remote
// Settings changes plugin (kinto_remote_settings.changes) serves it:
// GET /v1/buckets/monitor/collections/changes/changeset and .../records,
// GET /v1/buckets/{bid}/collections/{cid}/changeset and
// GET /v1/__broadcasts__, with the same statuses, headers and bodies.
//
// Storage is reached through Source and permissions through Access, the
// change seam of package kinto (implemented in-process by
// docstore.ChangeSource and docstore.ChangeAccess, and over HTTP by
// changes/upstream). A State, one per store and shared across config reloads, keeps
// every collection's timestamps in a Registry updated by the store's
// commit events, the rendered changesets in an LRU bounded in bytes, and
// the hub of the CouchDB-style feeds (package feeds), which its one
// subscription to the store wakes after the registry. Handler answers
// the endpoints for one configuration (Config, named after the Kinto
// settings) and passes the feeds' requests to a feeds.Handler. The
// package does not import Caddy.
package changes
