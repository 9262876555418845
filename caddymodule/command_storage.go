package caddymodule

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

// storageCommand is the name of changegate's storage command. Caddy's
// own `storage` command (export and import of TLS assets) holds that
// name, so the docstore's tools live under `changegate docstore`.
const storageCommand = "docstore"

// storageSubcommands build the subcommands of `changegate docstore`.
// Each subcommand lives in a file of its own (command_storage_*.go) that
// appends its constructor here in an init function; Caddy builds its
// command tree after every init has run.
var storageSubcommands []func() *cobra.Command

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  storageCommand,
		Short: "Tools for the docstore's storage (backup, copy between engines)",
		Long: `
Tools for the storage of the docstore directive. See each subcommand's
--help.
`,
		CobraFunc: func(cmd *cobra.Command) {
			for _, sub := range storageSubcommands {
				cmd.AddCommand(sub())
			}
		},
	})
}
