package kinto

import "strings"

// ExpectedParam is the query parameter Kinto clients add to changeset
// and collection URLs so that a CDN keys its cache on the timestamp they
// expect: any value is accepted, it only busts caches.
const ExpectedParam = "_expected"

// IsCacheBuster reports whether an _expected value is one of the
// placeholders clients send instead of a timestamp they know: "0" (the
// Rust client always, Gecko with an empty database) and values starting
// with "9999" (random busts from devtools, remoteSettings.inspect() and
// kinto-http.py). The remote-settings changes plugin serves those its
// minimum TTL and does not log them as a missed timestamp; anything else
// is a real expectation.
func IsCacheBuster(expected string) bool {
	return expected == "0" || strings.HasPrefix(expected, "9999")
}
