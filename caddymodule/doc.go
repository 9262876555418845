// Package caddymodule is the Caddy glue for changegate: it registers the
// http.handlers.* modules and their Caddyfile directives and translates
// configuration into the Caddy-free domain packages.
package caddymodule
