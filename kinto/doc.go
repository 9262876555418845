// Package kinto is the protocol floor every other package stands on: the
// vocabulary of the Kinto HTTP API that the document store, the change
// endpoints, the sidecar and the HTTP manners (throttle, conditional,
// cache_control, pretty, JSONP) share, so that each rule exists once.
//
// It holds Kinto's error bodies and errno table and the one writer of a
// refusal, the precondition headers and the 412, the common response
// headers (expose lists, CSP), the 307 page, the _expected cache-busting
// rule, Python's int() and str.strip() as Kinto's validators apply them,
// the JSON string spellings, and the change seam (Key, Event, Changeset,
// ChangesQuery, ChangesPage, Source, Access) that the embedded store and
// an upstream Kinto server both implement. The query language is in
// kinto/query.
//
// It imports nothing of this module and nothing outside the standard
// library.
package kinto
