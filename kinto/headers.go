package kinto

import "net/http"

// Access-Control-Expose-Headers lists, as the reference server sends them
// for each kind of endpoint (kinto.core's cors settings, observed on the
// wire): an error or a write, an object read, a plural read, and a plural
// HEAD which adds the counts.
const (
	ExposeDefault    = "Backoff, Content-Length, Retry-After, Content-Type, Alert"
	ExposeObjectRead = "Last-Modified, Backoff, Cache-Control, ETag, Pragma, Expires, Content-Length, Retry-After, Content-Type, Alert"
	ExposePluralRead = "Last-Modified, Backoff, Cache-Control, Next-Page, ETag, Pragma, Expires, Content-Length, Retry-After, Content-Type, Alert"
	ExposePluralHead = "Total-Records, Last-Modified, Backoff, Total-Objects, Cache-Control, Next-Page, ETag, Pragma, Expires, Content-Length, Retry-After, Content-Type, Alert"
	// ExposeUnknownURL is what Pyramid's not-found view sends, with no
	// spaces after the commas.
	ExposeUnknownURL = "Backoff,Retry-After,Alert,Content-Length,Content-Type"
)

// ContentSecurityPolicy is the policy kinto.core puts on every JSON
// answer: nothing in it may be loaded, framed or used as a base URL.
const ContentSecurityPolicy = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; "

// SetSecurityHeaders sets the two headers every Kinto answer carries so
// that a browser never sniffs or runs a JSON body.
func SetSecurityHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
}
