// Package ratelimit is changegate's rate limiter: the GCRA algorithm, a
// bounded in-memory store, a Redis store that several instances share, and
// the response headers and rejection bodies that go with them, and the
// Middleware that runs a request through them (fail open or closed, body
// format). It does not import Caddy; package caddymodule turns the
// throttle directive into a Middleware, its key templates into key
// functions and its matchers into a Match function.
//
// # Algorithm
//
// A Limit of N events per window W is a GCRA (generic cell rate algorithm,
// the "virtual scheduling" form of a token bucket): each key stores one
// theoretical arrival time (TAT). A request at time now is allowed when
// max(TAT, now) + W/N - W <= now, and then TAT becomes max(TAT, now) + W/N.
// So a fresh key may spend its N events at once (bursts up to the limit),
// and afterwards earns one event back every W/N. A rejected request changes
// nothing: unlike Eve, which pushes its counter's expiry forward on every
// request, a client that keeps hammering while limited is not locked out
// for longer. Sustained, a client gets N events per W; within any span of
// length W it gets at most 2N (a full burst, then what it earns back during
// the span), and never more than N at once.
//
// Time is counted in integer microseconds in both stores, so Go and the
// Redis Lua script compute the same results to the microsecond.
//
// # Several limits on one request
//
// A request may meet several zones. Store.Take decides them together and
// atomically: the request is allowed only if every limit allows it, and
// then it spends one event of each; when any limit refuses it, nothing is
// spent anywhere. The tightest limit answers the X-RateLimit-* headers.
package ratelimit
