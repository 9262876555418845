package kinto

import "testing"

// The JSON page is Python json.dumps' spelling: "&" of a query string
// left alone, non-ASCII as lower-case \u escapes.
func TestRedirectBodyJSON(t *testing.T) {
	ct, body := RedirectBody("application/json", "/v1/x?a=1&b=é")
	want := `{"message": "The resource has been moved to /v1/x?a=1&b=\u00e9; you should be redirected automatically.\n\n", "code": "307 Temporary Redirect", "title": "Temporary Redirect"}`
	if ct != "application/json" || string(body) != want {
		t.Fatalf("got %s %s\nwant %s", ct, body, want)
	}
}
