// Package version says which changegate this is: the release number, the
// commit it was built from and the Caddy it embeds, read from the build
// information the Go toolchain stamps into every binary.
package version

import (
	"fmt"
	"runtime/debug"
	"strings"
)

// Number is changegate's release version. It changes with every release
// (see CHANGELOG.md); between releases a build says which commit it is.
const Number = "0.1.0"

// modulePath is changegate's Go module, looked up among the dependencies
// when changegate is built into another binary (xcaddy).
const modulePath = "github.com/changegate/changegate"

// Info is what a binary knows about the changegate it contains.
type Info struct {
	// Number is the release version (Number).
	Number string
	// Module is the changegate module version Go recorded: a tag or
	// pseudo-version, "(devel)" for a plain local build, "" when unknown.
	Module string
	// Commit is the VCS revision, with "+dirty" when the work tree had
	// changes; "unknown" when the build carries none (go run, -buildvcs=false,
	// a build outside a git checkout).
	Commit string
	// Caddy is the Caddy module version compiled in, "" when unknown.
	Caddy string
}

// Get reads the build information of the running binary.
func Get() Info {
	bi, _ := debug.ReadBuildInfo()
	return fromBuildInfo(bi)
}

// fromBuildInfo extracts Info; bi may be nil (no build information).
func fromBuildInfo(bi *debug.BuildInfo) Info {
	info := Info{Number: Number, Commit: "unknown"}
	if bi == nil {
		return info
	}
	if bi.Main.Path == modulePath {
		info.Module = bi.Main.Version
		info.Commit = vcsCommit(bi.Settings, info.Commit)
	}
	for _, dep := range bi.Deps {
		switch dep.Path {
		case modulePath:
			info.Module = moduleVersion(dep)
			info.Commit = pseudoCommit(info.Module, info.Commit)
		case "github.com/caddyserver/caddy/v2":
			info.Caddy = moduleVersion(dep)
		}
	}
	return info
}

// moduleVersion is dep's version, the replacement's when it is replaced.
func moduleVersion(dep *debug.Module) string {
	if dep.Replace != nil {
		if dep.Replace.Version != "" {
			return dep.Replace.Version
		}
		return "(devel)"
	}
	return dep.Version
}

// vcsCommit reads the revision stamped by a build in a git checkout.
func vcsCommit(settings []debug.BuildSetting, fallback string) string {
	commit, dirty := "", false
	for _, s := range settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if commit == "" {
		return fallback
	}
	if dirty {
		commit += "+dirty"
	}
	return commit
}

// pseudoCommit takes the commit prefix out of a pseudo-version
// (v0.0.0-20260101000000-abcdef123456), the only commit a dependency
// build records.
func pseudoCommit(module, fallback string) string {
	base, _, _ := strings.Cut(module, "+")
	parts := strings.Split(base, "-")
	if len(parts) < 3 || len(parts[len(parts)-1]) != 12 {
		return fallback
	}
	return parts[len(parts)-1]
}

// String is the one line `changegate version` prints and the server logs.
func (i Info) String() string {
	s := fmt.Sprintf("changegate %s (commit %s", i.Number, i.Commit)
	if i.Module != "" && i.Module != "(devel)" {
		s += ", module " + i.Module
	}
	if i.Caddy != "" {
		s += ", Caddy " + i.Caddy
	}
	return s + ")"
}
