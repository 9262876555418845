package caddymodule

import (
	"sync"

	"github.com/caddyserver/caddy/v2"

	"github.com/changegate/changegate/docstore"
)

// healthChecks are the dependencies that modules of a config (throttle's
// Redis) put in that config's heartbeats, by config (see configID). A
// config's checks go when it is unloaded.
var healthChecks struct {
	mu       sync.Mutex
	byConfig map[configID][]docstore.HealthCheck
}

// addHealthCheck reports c in the heartbeats of ctx's config.
func addHealthCheck(ctx caddy.Context, c docstore.HealthCheck) {
	id := ctx.Done()
	healthChecks.mu.Lock()
	defer healthChecks.mu.Unlock()
	if healthChecks.byConfig == nil {
		healthChecks.byConfig = map[configID][]docstore.HealthCheck{}
	}
	if _, seen := healthChecks.byConfig[id]; !seen {
		ctx.OnCancel(func() {
			healthChecks.mu.Lock()
			defer healthChecks.mu.Unlock()
			delete(healthChecks.byConfig, id)
		})
	}
	healthChecks.byConfig[id] = append(healthChecks.byConfig[id], c)
}

// healthChecksOf returns the checks of a config.
func healthChecksOf(id configID) []docstore.HealthCheck {
	healthChecks.mu.Lock()
	defer healthChecks.mu.Unlock()
	return healthChecks.byConfig[id]
}
