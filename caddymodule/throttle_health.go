package caddymodule

import (
	"context"

	"github.com/caddyserver/caddy/v2"

	"github.com/changegate/changegate/docstore"
)

// reportHealth puts a Redis store in the heartbeats of the config
// (key "redis"): a throttle that cannot reach Redis no longer limits
// (fail open) or refuses everything (fail closed), which a load balancer
// should know.
func (t *Throttle) reportHealth(ctx caddy.Context) {
	if p, ok := t.mw.Store.(interface{ Ping(context.Context) error }); ok {
		addHealthCheck(ctx, docstore.HealthCheck{Name: "redis", Check: p.Ping})
	}
}
