package caddymodule

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
)

// TestDocsCaddyfilesAdapt adapts every complete Caddyfile the
// documentation shows (```caddyfile blocks without <placeholders>) and
// the shipped ones, so that none goes stale.
func TestDocsCaddyfilesAdapt(t *testing.T) {
	docs, _ := filepath.Glob("../docs/*.md")
	docs = append(docs, "../README.md", "../xcaddy.md")
	blocks := map[string]string{}
	for _, f := range docs {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range regexp.MustCompile("(?s)```caddyfile\n(.*?)```").FindAllStringSubmatch(string(raw), -1) {
			if !strings.Contains(m[1], "<") {
				blocks[strings.TrimPrefix(f, "../")+"#"+strconv.Itoa(i)] = m[1]
			}
		}
	}
	for _, f := range []string{"../Caddyfile.example", "../Caddyfile.sidecar", "../deploy/Caddyfile", "../deploy/Caddyfile.container"} {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		blocks[strings.TrimPrefix(f, "../")] = string(raw)
	}
	t.Setenv("CHANGEGATE_USERID_SECRET", "docs-test-secret")
	for name, block := range blocks {
		t.Run(name, func(t *testing.T) {
			if _, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(block), nil); err != nil {
				t.Fatalf("adapting:\n%s\n%v", block, err)
			}
		})
	}
}
