// Command changegate is Caddy with the standard modules and changegate's own.
package main

import (
	"fmt"
	"os"

	_ "time/tzdata"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
	"go.uber.org/zap"

	_ "github.com/changegate/changegate/caddymodule"
	"github.com/changegate/changegate/internal/version"
)

const longDescription = `changegate is Caddy with changegate's modules: a Kinto-compatible
document store (docstore), Kinto change aggregation and CouchDB _changes
feeds (changes), conditional requests, cache policy, ?pretty, JSONP and
rate limiting, next to Caddy's standard modules.

Every Caddy sub-command works. The usual ones:

	changegate run --config Caddyfile       run in the foreground
	changegate validate --config Caddyfile  check a config (opens no storage)
	changegate adapt --config Caddyfile     show the JSON a Caddyfile becomes
	changegate reload --config Caddyfile    apply a changed config to a running server
	changegate version                      changegate's version and commit

Documentation: README.md, docs/ and https://github.com/changegate/changegate.
Caddy's own: https://caddyserver.com/docs/.`

func main() {
	// Caddy's CLI names itself after these (help, usage, completions).
	caddy.CustomBinaryName = "changegate"
	caddy.CustomLongDescription = longDescription
	info := version.Get()
	if len(os.Args) == 2 && (os.Args[1] == "version" || os.Args[1] == "--version" || os.Args[1] == "-v") {
		// Caddy's version command would print only Caddy's version.
		fmt.Println(info)
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "run" {
		caddy.Log().Info("changegate",
			zap.String("version", info.Number),
			zap.String("commit", info.Commit),
			zap.String("caddy", info.Caddy))
	}
	caddycmd.Main()
}
