package caddymodule

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"

	"github.com/changegate/changegate/docstore"
)

// caddyUser returns the user a Caddy authentication handler earlier in
// the route vouched for ({http.auth.user.id}), "" for none.
func caddyUser(r *http.Request) string {
	repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return ""
	}
	id, _ := repl.GetString("http.auth.user.id")
	return id
}

// withCaddyUser makes the Caddy user the principal account:<id> of the
// docstore's identity check, for the docstore and for changes, which
// checks permissions with the docstore's rules.
func withCaddyUser(r *http.Request) *http.Request {
	if id := caddyUser(r); id != "" {
		return r.WithContext(docstore.WithUser(r.Context(), "account:"+id))
	}
	return r
}
