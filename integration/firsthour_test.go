package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/changegate/changegate/internal/testserver"
	"github.com/changegate/changegate/internal/version"
)

// withChanges is a standalone config with changes linked to the docstore,
// so that validating it provisions the changes state over the store too.
const withChanges = `{
	admin localhost:{admin}
	http_port {port}
	auto_https off
	persist_config off
}
:{port} {
	changes {
		resources /buckets/main
	}
	docstore {
		storage bolt {dir}/data/changegate.db
		userid_hmac_secret test-secret-of-16-bytes
	}
}
`

// runCLI runs the changegate binary in dir and gives up after limit.
func runCLI(t *testing.T, dir string, limit time.Duration, args ...string) (out string, err error, took time.Duration) {
	t.Helper()
	bin := testserver.Binary(t) // built outside the limit: the first build takes minutes
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+filepath.Join(dir, "xdg-data"), "XDG_CONFIG_HOME="+filepath.Join(dir, "xdg-config"))
	start := time.Now()
	b, err := cmd.CombinedOutput()
	return string(b), err, time.Since(start)
}

// TestValidateLeavesStorageAlone: validate neither creates the data
// directory nor waits on the lock of a running server's file.
func TestValidateLeavesStorageAlone(t *testing.T) {
	testserver.BoltOnly(t)
	dir := t.TempDir()
	config := strings.NewReplacer("{admin}", "2999", "{port}", "9999", "{dir}", dir).Replace(withChanges)
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err, _ := runCLI(t, dir, 30*time.Second, "validate", "--config", path)
	if err != nil || !strings.Contains(out, "Valid configuration") {
		t.Fatalf("validate: %v\n%s", err, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
		t.Fatalf("validate touched the data directory: stat says %v", err)
	}

	s := testserver.Start(t, withChanges)
	do(t, "PUT", s.URL()+"/v1/buckets/main", "{}", "Authorization: Basic YWxpY2U6czNjcmV0").expectStatus(t, 201)
	db := filepath.Join(s.Dir(), "data", "changegate.db")
	before, err := os.Stat(db)
	if err != nil {
		t.Fatal(err)
	}
	out, err, took := runCLI(t, s.Dir(), 30*time.Second, "validate", "--config", filepath.Join(s.Dir(), "Caddyfile"))
	if err != nil || !strings.Contains(out, "Valid configuration") {
		t.Fatalf("validate of a running server's config: %v\n%s", err, out)
	}
	if took > 5*time.Second {
		t.Fatalf("validate of a running server's config took %v; it must not wait on the file lock", took)
	}
	after, err := os.Stat(db)
	if err != nil {
		t.Fatal(err)
	}
	if after.Size() != before.Size() || !after.ModTime().Equal(before.ModTime()) {
		t.Fatalf("validate changed the store: %d bytes at %v, then %d at %v", before.Size(), before.ModTime(), after.Size(), after.ModTime())
	}
	out, err, _ = runCLI(t, s.Dir(), 30*time.Second, "adapt", "--config", filepath.Join(s.Dir(), "Caddyfile"), "--validate")
	if err != nil {
		t.Fatalf("adapt --validate of a running server's config: %v\n%s", err, out)
	}
}

// TestSecondServerOnHeldFileFailsAtOnce: another process on the file of
// a running server refuses to start, at once, and says why.
func TestSecondServerOnHeldFileFailsAtOnce(t *testing.T) {
	testserver.BoltOnly(t)
	s := testserver.Start(t, standalone)
	second := strings.NewReplacer(
		"{admin}", strconv.Itoa(testserver.FreePort(t)),
		"{port}", strconv.Itoa(testserver.FreePort(t)),
		"{dir}", s.Dir(),
	).Replace(standalone)
	path := filepath.Join(t.TempDir(), "Caddyfile")
	if err := os.WriteFile(path, []byte(second), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err, took := runCLI(t, filepath.Dir(path), 20*time.Second, "run", "--config", path)
	if err == nil {
		t.Fatalf("a second server on %s/data.db ran and stopped without error\n%s", s.Dir(), out)
	}
	want := "opening bolt storage " + filepath.Join(s.Dir(), "data.db") + ": opening bolt file " + filepath.Join(s.Dir(), "data.db") +
		": in use by another process — is a changegate already running?"
	if !strings.Contains(out, want) {
		t.Fatalf("second server's output lacks %q:\n%s", want, out)
	}
	if took > 5*time.Second {
		t.Fatalf("second server took %v to give up", took)
	}
	do(t, "GET", s.URL()+"/v1/", "").expectStatus(t, 200)
}

// TestShippedConfigStartsClean: Caddyfile.example, in an empty directory,
// starts on loopback without a single warning, and logs which changegate
// it is.
func TestShippedConfigStartsClean(t *testing.T) {
	example := readFile(t, "../Caddyfile.example")
	config := example
	for old, new := range map[string]string{
		"admin localhost:2019":     "admin localhost:{admin}",
		":8888 {":                  ":{port} {",
		"http_host localhost:8888": "http_host localhost:{port}",
	} {
		if !strings.Contains(config, old) {
			t.Fatalf("Caddyfile.example has no %q to move to a free port", old)
		}
		config = strings.ReplaceAll(config, old, new)
	}
	s := testserver.Start(t, config)
	do(t, "GET", s.URL()+"/v1/", "").expectStatus(t, 200)
	do(t, "PUT", s.URL()+"/v1/buckets/main", "{}", "Authorization: Basic YWxpY2U6czNjcmV0").expectStatus(t, 201)
	v := do(t, "GET", s.URL()+"/v1/__version__", "").expectStatus(t, 200).json(t)
	if v["name"] != "changegate" || v["version"] != version.Number || v["commit"] == "" {
		t.Fatalf("__version__ = %v", v)
	}
	if _, err := os.Stat(filepath.Join(s.Dir(), "data", "changegate.db")); err != nil {
		t.Fatalf("the example's store is not in ./data: %v", err)
	}
	log := s.Log()
	if bad := regexp.MustCompile(`(?m)^.*"level":"(warn|error|panic|fatal)".*$`).FindAllString(log, -1); len(bad) > 0 {
		t.Fatalf("a clean start of Caddyfile.example logged:\n%s", strings.Join(bad, "\n"))
	}
	if !strings.Contains(log, `"msg":"changegate","version":"`+version.Number+`","commit":"`) {
		t.Fatalf("the start-up log does not say which changegate this is:\n%s", log)
	}
}

// TestVersionCommand: `changegate version` and --help speak of changegate.
func TestVersionCommand(t *testing.T) {
	out, err, _ := runCLI(t, t.TempDir(), 30*time.Second, "version")
	if err != nil || !strings.HasPrefix(out, "changegate "+version.Number+" (commit ") || !strings.Contains(out, "Caddy v2.") {
		t.Fatalf("changegate version: %v\n%s", err, out)
	}
	out, err, _ = runCLI(t, t.TempDir(), 30*time.Second, "--help")
	if err != nil || !strings.HasPrefix(out, "changegate is Caddy with changegate's modules") || !strings.Contains(out, "changegate run [flags]") && !strings.Contains(out, "changegate [command]") {
		t.Fatalf("changegate --help: %v\n%s", err, out)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestConfigErrorsSayTheFix: mistakes are caught by validate and adapt,
// and the message names the option and what to write instead.
func TestConfigErrorsSayTheFix(t *testing.T) {
	tests := []struct {
		name, command, docstore, want string
	}{
		{"short secret", "validate", "storage bolt ./data/changegate.db\n\t\tuserid_hmac_secret short",
			"docstore: userid_hmac_secret is unsafe: "},
		{"placeholder secret", "validate", "storage bolt ./data/changegate.db\n\t\tuserid_hmac_secret change-me-before-production",
			"Set a random value of at least 16 bytes (e.g. `openssl rand -hex 32`), or remove the directive"},
		{"engine typo at adapt", "adapt", "storage blot ./data/changegate.db\n\t\tuserid_hmac_secret s",
			"storage: unknown engine \"blot\": write `storage bolt [<path>]` or `storage postgres <dsn>`"},
		{"eos date at adapt", "adapt", "eos 31/01/2027\n\t\tuserid_hmac_secret s",
			"eos: \"31/01/2027\" is not a date: write it YYYY-MM-DD, e.g. `eos 2027-01-31`"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "Caddyfile")
			config := "{\n\tadmin off\n}\n:9999 {\n\tdocstore {\n\t\t" + tt.docstore + "\n\t}\n}\n"
			if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
				t.Fatal(err)
			}
			out, err, _ := runCLI(t, dir, 30*time.Second, tt.command, "--config", path)
			out = strings.ReplaceAll(out, `\"`, `"`) // Caddy logs the error as JSON
			if err == nil || !strings.Contains(out, tt.want) {
				t.Fatalf("%s: err %v, output lacks %q:\n%s", tt.command, err, tt.want, out)
			}
			if _, err := os.Stat(filepath.Join(dir, "data")); !os.IsNotExist(err) {
				t.Fatalf("%s touched the data directory: stat says %v", tt.command, err)
			}
		})
	}
}
