// Package upstream is the second implementation of the changes storage
// seam (kinto.Source and kinto.Access): an existing Kinto-compatible
// server reached over HTTP, for the sidecar mode where changegate runs
// next to it behind `reverse_proxy`.
//
// It learns the records timestamp of every monitored collection two ways
// together: from the writes that pass through the sidecar (Observe turns
// a proxied write response into events at once), and from conditional
// polling of the upstream (If-None-Match on GET …/records, with jitter,
// bounded concurrency and backoff), so that writes made straight to the
// upstream show within one poll interval. Changesets and change feeds are
// read from the upstream's records list with a consistent-read check, and
// permissions are the upstream's own: CanRead asks it with the client's
// credentials. Bodies are sliced with gjson, never decoded whole.
package upstream
