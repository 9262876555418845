// Command changegate is Caddy with the standard modules and changegate's own.
package main

import (
	_ "time/tzdata"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/changegate/changegate/caddymodule"
)

func main() {
	caddycmd.Main()
}
