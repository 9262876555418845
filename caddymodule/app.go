package caddymodule

import (
	"fmt"
	"slices"
	"sync"

	"github.com/caddyserver/caddy/v2"

	"github.com/changegate/changegate/docstore"
)

func init() {
	caddy.RegisterModule(new(App))
}

// appID is the name modules ask Caddy for the app by.
const appID = "changegate"

// App is the changegate app: what the modules of one config share. It
// links modules that work in front of a docstore (changes) to the
// docstore of the same config (app_links.go), and holds the
// dependencies that config's heartbeats check (throttle's Redis).
//
// Modules get it with ctx.App: Caddy provisions an app the config does
// not name, empty, when it is first asked for, so users never configure
// it. Caddy keeps one per config and stops it with that config, so a
// reload, which provisions the new config while the old one still
// serves, gets a fresh App and links never cross configs. What must
// outlive a reload (open stores, the changes state) is not here but in
// usage pools keyed by storage (stores, changesStates), which the new
// config acquires before the old one lets go.
type App struct {
	mu        sync.Mutex
	docstores []*docstoreEntry
	claims    []*docstoreClaim
	health    []docstore.HealthCheck
}

// CaddyModule returns the Caddy module information.
func (*App) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  appID,
		New: func() caddy.Module { return new(App) },
	}
}

// Start does nothing: the modules that use the app run with the HTTP
// server.
func (*App) Start() error { return nil }

// Stop does nothing: the config's modules release what they hold in
// their own Cleanup.
func (*App) Stop() error { return nil }

// appOf returns the app of ctx's config.
func appOf(ctx caddy.Context) (*App, error) {
	v, err := ctx.App(appID)
	if err != nil {
		return nil, fmt.Errorf("loading the %s app: %v", appID, err)
	}
	return v.(*App), nil
}

// addHealthCheck reports c in the heartbeats of ctx's config. The app
// fails to load only when the config names it with settings it does not
// have, and then the whole config fails to load: logging is enough.
func addHealthCheck(ctx caddy.Context, c docstore.HealthCheck) {
	a, err := appOf(ctx)
	if err != nil {
		ctx.Slogger().Error("adding a health check", "check", c.Name, "error", err)
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.health = append(a.health, c)
}

// healthChecks returns the checks of the app's config.
func (a *App) healthChecks() []docstore.HealthCheck {
	a.mu.Lock()
	defer a.mu.Unlock()
	// Clipped: a caller's append copies rather than writing past it.
	return slices.Clip(a.health)
}

// Interface guards
var _ caddy.App = (*App)(nil)
