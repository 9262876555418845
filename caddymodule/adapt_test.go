package caddymodule

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

// TestCaddyfileAdapt adapts every testdata/caddyfile_adapt/*.caddyfiletest:
// a Caddyfile, a line of dashes, then the expected JSON, or an expected
// error substring when that part does not start with "{".
func TestCaddyfileAdapt(t *testing.T) {
	files, err := filepath.Glob("testdata/caddyfile_adapt/*.caddyfiletest")
	if err != nil || len(files) == 0 {
		t.Fatalf("no adapt tests found: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			raw, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			input, expected, ok := strings.Cut(string(raw), "\n----------\n")
			if !ok {
				t.Fatal("missing ---------- separator")
			}
			got, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(input), nil)
			expected = strings.TrimSpace(expected)
			if !strings.HasPrefix(expected, "{") {
				if err == nil || !strings.Contains(err.Error(), expected) {
					t.Fatalf("adapt error = %v, want one containing %q", err, expected)
				}
				return
			}
			if err != nil {
				t.Fatalf("adapting: %v", err)
			}
			var want, have bytes.Buffer
			if err := json.Indent(&want, []byte(expected), "", "\t"); err != nil {
				t.Fatalf("expected JSON: %v", err)
			}
			if err := json.Indent(&have, got, "", "\t"); err != nil {
				t.Fatal(err)
			}
			if want.String() != have.String() {
				t.Fatalf("adapted JSON differs\n got: %s\nwant: %s", have.String(), want.String())
			}
		})
	}
}
