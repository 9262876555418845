// Package middleware names the one shape of changegate's HTTP middleware
// (cache_control, pretty, jsonp, conditional, method_override, throttle,
// changes and its feeds): a handler that gets the rest of the chain as a
// function, so that it can wrap the writer, answer in the chain's stead,
// or pass the request on, and that returns the chain's error untouched. The shape is Caddy's
// MiddlewareHandler without Caddy: package caddymodule passes
// next.ServeHTTP.
package middleware

import "net/http"

// Next is the rest of the chain.
type Next = func(http.ResponseWriter, *http.Request) error

// Handler is a middleware.
type Handler interface {
	Serve(w http.ResponseWriter, r *http.Request, next Next) error
}
