package integration

import "testing"

// TestFeedsInvalidBoolean: an invalid boolean in a _changes query is
// CouchDB's 400 query_parse_error, for every feed type, before any wait.
func TestFeedsInvalidBoolean(t *testing.T) {
	_, v1 := startFeeds(t)
	u := v1 + "/buckets/main/collections/c/_changes?"
	do(t, "GET", u+"descending=maybe", "").expect(t, 400,
		`{"error":"query_parse_error","reason":"Invalid boolean parameter: \"maybe\""}`+"\n")
	do(t, "GET", u+"feed=longpoll&include_docs=2", "").expect(t, 400,
		`{"error":"query_parse_error","reason":"Invalid boolean parameter: \"2\""}`+"\n")
	do(t, "POST", u+"feed=continuous&include_docs=yes", "{}").expect(t, 400,
		`{"error":"query_parse_error","reason":"Invalid boolean parameter: \"yes\""}`+"\n")
}
