package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/changegate/changegate/internal/testserver"
)

// TestSecretGeneratedAndKept: with no userid_hmac_secret a random one is
// made on first start, kept next to the data file with mode 0600, and
// reused on restart, so user ids do not change.
func TestSecretGeneratedAndKept(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data", "store.db")
	s := testserver.Start(t, securityConfig(data))
	id := whoAmI(t, s, "alice")

	path := data + ".userid_secret"
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no generated secret file: %v", err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Fatalf("secret file mode %o, want 600", mode)
	}
	b, _ := os.ReadFile(path)
	secret := strings.TrimSpace(string(b))
	if !regexp.MustCompile(`^[0-9a-f]{64}$`).MatchString(secret) {
		t.Fatalf("secret file holds %q, want 32 random bytes in hex", secret)
	}
	if want := basicID(secret, "alice:pw"); id != want {
		t.Fatalf("user id %s, want %s (keyed by the generated secret)", id, want)
	}
	do(t, "PUT", s.URL()+"/v1/buckets/mine", "{}", basic("alice")).expectStatus(t, 201)

	s.Stop()
	s.Restart()
	if again := whoAmI(t, s, "alice"); again != id {
		t.Fatalf("user id after restart %s, want %s", again, id)
	}
	do(t, "GET", s.URL()+"/v1/buckets/mine", "", basic("alice")).expectStatus(t, 200)
	do(t, "GET", s.URL()+"/v1/buckets/mine", "", basic("bob")).expectStatus(t, 403)
}

// TestSecretUnsafeRefused: a short secret or the documented placeholder
// stops the start with an error naming the directive and the fix.
func TestSecretUnsafeRefused(t *testing.T) {
	for _, secret := range []string{"short-secret", "change-me-before-production"} {
		t.Run(secret, func(t *testing.T) {
			out := startFails(t, securityConfig("{dir}/data.db", "userid_hmac_secret "+secret))
			expectAll(t, "start-up error", out, "userid_hmac_secret is unsafe", "at least 16 bytes", "remove the directive")
		})
	}
}

// TestSecretChangeRefused: a store remembers the fingerprint of the
// secret it was written with; another secret is refused (every identity
// would change) unless `userid_secret_change allow` says so.
func TestSecretChangeRefused(t *testing.T) {
	data := filepath.Join(t.TempDir(), "store.db")
	first := "first-secret-0123456789"
	s := testserver.Start(t, securityConfig(data, "userid_hmac_secret "+first))
	do(t, "PUT", s.URL()+"/v1/buckets/mine", "{}", basic("alice")).expectStatus(t, 201)
	s.Stop()

	second := "second-secret-0123456789"
	out := startFails(t, securityConfig(data, "userid_hmac_secret "+second))
	expectAll(t, "start-up error", out, "userid_hmac_secret is not the secret", "every basicauth user id",
		"personal (default) bucket id", "userid_secret_change allow")

	s2 := testserver.Start(t, securityConfig(data, "userid_hmac_secret "+second, "userid_secret_change allow"))
	if id := whoAmI(t, s2, "alice"); id != basicID(second, "alice:pw") {
		t.Fatalf("user id %s after an allowed change, want the new secret's", id)
	}
	expectAll(t, "log", s2.Log(), "userid_hmac_secret changed")
	do(t, "GET", s2.URL()+"/v1/buckets/mine", "", basic("alice")).expectStatus(t, 403)
	s2.Stop()

	// The new secret is now the recorded one: no override needed, and
	// the old one is refused in its turn.
	s3 := testserver.Start(t, securityConfig(data, "userid_hmac_secret "+second))
	s3.Stop()
	startFails(t, securityConfig(data, "userid_hmac_secret "+first))
}

// TestSecretPlaceholderNotAutosaved: a secret given as a {file.*}
// placeholder is read at start and never written to Caddy's autosaved
// config.
func TestSecretPlaceholderNotAutosaved(t *testing.T) {
	dir := t.TempDir()
	secret := "from-a-file-0123456789abcdef"
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := strings.Replace(securityConfig(filepath.Join(dir, "store.db"), "userid_hmac_secret {file."+filepath.Join(dir, "secret")+"}"),
		"\tpersist_config off\n", "", 1)
	s := testserver.Start(t, cfg)
	if id := whoAmI(t, s, "alice"); id != basicID(secret, "alice:pw") {
		t.Fatalf("user id %s, want the one keyed by the file's secret", id)
	}
	saved, err := os.ReadFile(filepath.Join(s.Dir(), "xdg-config", "caddy", "autosave.json"))
	if err != nil {
		t.Fatalf("reading the autosaved config: %v", err)
	}
	if strings.Contains(string(saved), secret) {
		t.Fatalf("the autosaved config holds the secret:\n%s", saved)
	}
	expectAll(t, "autosaved config", string(saved), "{file.")
}

// TestFlushEndpointWarned: the flush endpoint is announced at every
// start, and the shipped example does not enable it.
func TestFlushEndpointWarned(t *testing.T) {
	testserver.BoltOnly(t)
	s := testserver.Start(t, securityConfig("{dir}/data.db", "flush_endpoint"))
	expectAll(t, "log", s.Log(), "flush_endpoint is enabled", "delete everything")
	quiet := testserver.Start(t, securityConfig("{dir}/data.db"))
	if strings.Contains(quiet.Log(), "flush_endpoint") {
		t.Fatalf("warned about a flush endpoint that is off:\n%s", quiet.Log())
	}
	example, err := os.ReadFile(filepath.Join("..", "Caddyfile.example"))
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"flush_endpoint", "change-me"} {
		if strings.Contains(string(example), bad) {
			t.Errorf("Caddyfile.example still contains %q", bad)
		}
	}
}

// TestExampleIsSafe runs Caddyfile.example as the README does (no
// environment variable): it starts, keys user ids with a generated
// secret, and an anonymous POST /v1/__flush__ deletes nothing.
func TestExampleIsSafe(t *testing.T) {
	example, err := os.ReadFile(filepath.Join("..", "Caddyfile.example"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := strings.NewReplacer("8888", "{port}", "8080", fmt.Sprint(testserver.FreePort(t)), "2019", "{admin}").Replace(string(example))
	s := testserver.Start(t, cfg)
	v1 := s.URL() + "/v1"
	b, err := os.ReadFile(filepath.Join(s.Dir(), "data", "changegate.db.userid_secret"))
	if err != nil {
		t.Fatalf("no generated secret next to the example's data: %v", err)
	}
	if id := whoAmI(t, s, "alice"); id != basicID(strings.TrimSpace(string(b)), "alice:pw") {
		t.Fatalf("user id %s is not keyed by the generated secret", id)
	}
	do(t, "PUT", v1+"/buckets/keep", "{}", basic("alice")).expectStatus(t, 201)
	if r := do(t, "POST", v1+"/__flush__", "", "Content-Type: text/plain"); r.status < 400 {
		t.Fatalf("anonymous POST /v1/__flush__ answered %d %s", r.status, r.body)
	}
	do(t, "GET", v1+"/buckets/keep", "", basic("alice")).expectStatus(t, 200)
	if strings.Contains(s.Log(), "flush_endpoint is enabled") {
		t.Fatalf("the example enables the flush endpoint:\n%s", s.Log())
	}
}
