package version

import (
	"runtime/debug"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	caddy := &debug.Module{Path: "github.com/caddyserver/caddy/v2", Version: "v2.11.9"}
	tests := []struct {
		name string
		bi   *debug.BuildInfo
		want Info
		line string
	}{
		{
			name: "no build information",
			want: Info{Number: Number, Commit: "unknown"},
			line: "changegate " + Number + " (commit unknown)",
		},
		{
			name: "go build in a checkout",
			bi: &debug.BuildInfo{
				Main: debug.Module{Path: modulePath, Version: "(devel)"},
				Deps: []*debug.Module{caddy},
				Settings: []debug.BuildSetting{
					{Key: "vcs.revision", Value: "fefc1b91b492cdfe1150ebac831720a499dc66d6"},
					{Key: "vcs.modified", Value: "true"},
				},
			},
			want: Info{Number: Number, Module: "(devel)", Commit: "fefc1b91b492cdfe1150ebac831720a499dc66d6+dirty", Caddy: "v2.11.9"},
			line: "changegate " + Number + " (commit fefc1b91b492cdfe1150ebac831720a499dc66d6+dirty, Caddy v2.11.9)",
		},
		{
			name: "go run, no VCS stamping",
			bi: &debug.BuildInfo{
				Main: debug.Module{Path: modulePath, Version: "(devel)"},
				Deps: []*debug.Module{caddy},
			},
			want: Info{Number: Number, Module: "(devel)", Commit: "unknown", Caddy: "v2.11.9"},
			line: "changegate " + Number + " (commit unknown, Caddy v2.11.9)",
		},
		{
			name: "xcaddy build at a pseudo-version",
			bi: &debug.BuildInfo{
				Main: debug.Module{Path: "caddy", Version: "(devel)"},
				Deps: []*debug.Module{caddy, {Path: modulePath, Version: "v0.0.0-20261206020000-fefc1b91b492"}},
			},
			want: Info{Number: Number, Module: "v0.0.0-20261206020000-fefc1b91b492", Commit: "fefc1b91b492", Caddy: "v2.11.9"},
			line: "changegate " + Number + " (commit fefc1b91b492, module v0.0.0-20261206020000-fefc1b91b492, Caddy v2.11.9)",
		},
		{
			name: "xcaddy build of a local checkout (replace)",
			bi: &debug.BuildInfo{
				Main: debug.Module{Path: "caddy", Version: "(devel)"},
				Deps: []*debug.Module{caddy, {Path: modulePath, Version: "v0.0.0-00010101000000-000000000000", Replace: &debug.Module{Path: "/src/changegate"}}},
			},
			want: Info{Number: Number, Module: "(devel)", Commit: "unknown", Caddy: "v2.11.9"},
			line: "changegate " + Number + " (commit unknown, Caddy v2.11.9)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := fromBuildInfo(tt.bi)
			if got != tt.want {
				t.Fatalf("fromBuildInfo = %+v, want %+v", got, tt.want)
			}
			if got.String() != tt.line {
				t.Fatalf("String() = %q, want %q", got.String(), tt.line)
			}
		})
	}
}
