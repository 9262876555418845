// Package feeds serves the CouchDB-style endpoints of the Kinto
// collections and of the monitor/changes collection: GET|POST
// {collection}/_changes (normal, longpoll, continuous, eventsource), the
// database info GET {collection}/ that PouchDB asks first, and the reads
// of a pull replication (_bulk_get, _all_docs, GET {collection}/{docid},
// _local checkpoints); see docs/feeds.md.
//
// Collections are read through the change seam of package kinto (Source
// and Access); the monitor through Monitor, which package changes
// implements over its registry. One Hub per store wakes the waiting
// feeds: the store's one event subscriber (changes.State) calls
// Hub.Publish after updating its registry, before the write is
// acknowledged. Idle longpolls over HTTP/1.x are parked off their request
// goroutine (feed_park.go), watched on Linux by an epoll set
// (feed_hangup_linux.go; build tag nohangupwatch for one goroutine per
// parked feed instead). The package does not import Caddy.
package feeds
