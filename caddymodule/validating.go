package caddymodule

import (
	"os"
	"slices"
	"sync"
)

// validatingOnly reports whether this process only checks a config:
// `validate`, or `adapt --validate`. Caddy provisions every module of a
// config it validates but never starts it, and gives modules no way to
// tell; the command line is what says so. The docstore then provisions
// over an empty in-memory engine, so that checking the config of a
// running server neither creates the data directory and file nor waits on
// the lock the server holds.
var validatingOnly = sync.OnceValue(func() bool { return isValidateCommand(os.Args) })

// isValidateCommand tells a validate-only command line from the others.
func isValidateCommand(args []string) bool {
	if len(args) < 2 {
		return false
	}
	switch args[1] {
	case "validate":
		return true
	case "adapt":
		return slices.ContainsFunc(args[2:], func(a string) bool {
			return a == "--validate" || a == "-validate" || a == "--validate=true" || a == "-validate=true"
		})
	}
	return false
}
