package caddymodule

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

// storageSubcommands build the subcommands of `changegate docstore`. The
// root cannot be called `storage`: Caddy's own `storage` command (export
// and import of certificate storage) holds that name, and registering it
// twice panics.
var storageSubcommands = []func() *cobra.Command{
	newStorageCopyCommand,
}

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "docstore",
		Short: "Manages the docstore's storage (copy between engines)",
		CobraFunc: func(cmd *cobra.Command) {
			for _, sub := range storageSubcommands {
				cmd.AddCommand(sub())
			}
		},
	})
}
