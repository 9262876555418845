package integration

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/changegate/changegate/internal/testserver"
)

// securityDocstore is a standalone site with permission checks on; %s
// goes inside the docstore block, {data} is a data file shared by the
// servers of one test.
const securityDocstore = `{
	admin localhost:{admin}
	http_port {port}
	auto_https off
	persist_config off
}
:{port} {
	docstore {
		storage bolt {data}
		%s
	}
}
`

// securityConfig fills securityDocstore for the data file at data.
func securityConfig(data string, options ...string) string {
	cfg := fmt.Sprintf(securityDocstore, strings.Join(options, "\n\t\t"))
	return strings.ReplaceAll(cfg, "{data}", data)
}

// startFails runs changegate on caddyfile (or a JSON config, when it
// starts with `{"`) and expects it to exit with an error within 30 s; it
// returns what the process printed.
func startFails(t *testing.T, caddyfile string) string {
	t.Helper()
	dir := t.TempDir()
	r := strings.NewReplacer("{port}", fmt.Sprint(testserver.FreePort(t)), "{admin}", fmt.Sprint(testserver.FreePort(t)), "{dir}", dir)
	path, args := filepath.Join(dir, "Caddyfile"), []string{"--adapter", "caddyfile"}
	if strings.HasPrefix(caddyfile, `{"`) {
		path, args = filepath.Join(dir, "config.json"), nil
	}
	if err := os.WriteFile(path, []byte(r.Replace(caddyfile)), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := testserver.Binary(t) // built before the timeout starts
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, append([]string{"run", "--config", path}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+filepath.Join(dir, "xdg-data"), "XDG_CONFIG_HOME="+filepath.Join(dir, "xdg-config"))
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("changegate still running after 30s; it should have refused to start:\n%s", out)
	}
	if err == nil {
		t.Fatalf("changegate exited cleanly; it should have refused to start:\n%s", out)
	}
	return string(out)
}

// expectAll fails unless text contains every part.
func expectAll(t testing.TB, what, text string, parts ...string) {
	t.Helper()
	for _, p := range parts {
		if !strings.Contains(text, p) {
			t.Errorf("%s lacks %q:\n%s", what, p, text)
		}
	}
}

// basicID is the basicauth principal of credentials under secret.
func basicID(secret, credentials string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(credentials))
	return "basicauth:" + hex.EncodeToString(mac.Sum(nil))
}

// whoAmI is the user id GET /v1/ reports for credentials user:pw.
func whoAmI(t testing.TB, s *testserver.Server, user string) string {
	t.Helper()
	root := do(t, "GET", s.URL()+"/v1/", "", basic(user)).expectStatus(t, 200).json(t)
	u, _ := root["user"].(map[string]any)
	id, _ := u["id"].(string)
	return id
}
