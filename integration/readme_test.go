package integration

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/changegate/changegate/internal/testserver"
)

// docBlocks returns the ```lang blocks of a document's section heading
// that contain must, in order.
func docBlocks(t *testing.T, doc, heading, lang, must string) []string {
	t.Helper()
	readme := readFile(t, "../"+doc)
	start := strings.Index(readme, "\n## "+heading+"\n")
	if start < 0 {
		t.Fatalf("%s has no section %q", doc, heading)
	}
	section := readme[start+1:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)```"+lang+"\n(.*?)```").FindAllStringSubmatch(section, -1) {
		if strings.Contains(m[1], must) {
			blocks = append(blocks, m[1])
		}
	}
	if len(blocks) == 0 {
		t.Fatalf("%s section %q has no %s block with %q", doc, heading, lang, must)
	}
	return blocks
}

// readmeBlocks returns the curl blocks of a README section.
func readmeBlocks(t *testing.T, heading string) []string {
	return docBlocks(t, "README.md", heading, "sh", "curl ")
}

// runShell runs a README block with bash (exiting on the first failing
// command) and returns what it printed.
func runShell(ctx context.Context, script string) (string, error) {
	cmd := exec.CommandContext(ctx, "bash", "-euo", "pipefail", "-c", script)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// exampleConfig is Caddyfile.example (or .sidecar) on the test's ports.
func exampleConfig(t *testing.T, file string, ports map[string]string) string {
	t.Helper()
	config := readFile(t, "../"+file)
	for old, new := range ports {
		if !strings.Contains(config, old) {
			t.Fatalf("%s has no %q to move to a free port", file, old)
		}
		config = strings.ReplaceAll(config, old, new)
	}
	return config
}

// TestReadmeWalkthrough runs README's "Try it" and "Run as a sidecar"
// commands as written (on free ports) against servers started from
// Caddyfile.example and Caddyfile.sidecar.
func TestReadmeWalkthrough(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	s := testserver.Start(t, exampleConfig(t, "Caddyfile.example", map[string]string{
		"admin localhost:2019":     "admin localhost:{admin}",
		":8888 {":                  ":{port} {",
		"http_host localhost:8888": "http_host localhost:{port}",
	}))
	port := strconv.Itoa(s.Port)
	walk := readmeBlocks(t, "Try it")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := runShell(ctx, strings.ReplaceAll(walk[0], "localhost:8888", "localhost:"+port))
	if err != nil {
		t.Fatalf("README walkthrough: %v\n%s", err, out)
	}
	// Exactly the two refusals the walkthrough shows, and each step's mark.
	if n := strings.Count(out, `"errno"`); n != 2 {
		t.Fatalf("walkthrough answered %d errors, want the 401 and the 403 it shows:\n%s", n, out)
	}
	for _, want := range []string{
		`"errno":104`, `"errno":121`, // anonymous, then bob
		`"done":true`,          // the conditional PATCH
		`"deleted":true`,       // the tombstone since the ETag
		`"status":201`,         // the batch
		`"collection":"tasks"`, // the monitor changeset
		`/**/ show({"data":[`,  // JSONP
		"X-Ratelimit-Limit: 600",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("walkthrough output lacks %q", want)
		}
	}
	// Filter, sort, page, project: the first title, id and timestamp only.
	if !regexp.MustCompile(`\{"data":\[\{"id":"[0-9a-f-]{36}","last_modified":\d+,"title":"ship"\}\]\}`).MatchString(out) {
		t.Errorf("walkthrough output lacks the projected first page")
	}
	if t.Failed() {
		t.Fatalf("walkthrough output:\n%s", out)
	}

	side := testserver.Start(t, exampleConfig(t, "Caddyfile.sidecar", map[string]string{
		"admin localhost:2020":         "admin localhost:{admin}",
		":8080 {":                      ":{port} {",
		"http_host localhost:8080":     "http_host localhost:{port}",
		"http://127.0.0.1:8888/v1":     "http://127.0.0.1:" + port + "/v1",
		"reverse_proxy 127.0.0.1:8888": "reverse_proxy 127.0.0.1:" + port,
	}))
	sidecar := readmeBlocks(t, "Run as a sidecar")
	script := strings.ReplaceAll(sidecar[len(sidecar)-1], "localhost:8080", "localhost:"+strconv.Itoa(side.Port))
	done := make(chan string, 1)
	go func() {
		out, err := runShell(ctx, script)
		done <- fmt.Sprintf("%s(err: %v)", out, err)
	}()
	// The block ends waiting for the next change: make one on :8888.
	time.Sleep(time.Second)
	do(t, "POST", s.URL()+"/v1/buckets/main/collections/tasks/records", `{"data":{"title":"straight to the upstream"}}`,
		"Authorization: Basic YWxpY2U6czNjcmV0").expectStatus(t, 201)
	select {
	case out = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("the sidecar's longpoll did not see a write made straight to the upstream")
	}
	for _, want := range []string{`"title":"seen at once"`, `"collection":"tasks"`, `"results":[`, "(err: <nil>)"} {
		if !strings.Contains(out, want) {
			t.Fatalf("sidecar block output lacks %q:\n%s", want, out)
		}
	}
	for _, srv := range []*testserver.Server{s, side} {
		if bad := regexp.MustCompile(`(?m)^.*"level":"(warn|error)".*$`).FindAllString(srv.Log(), -1); len(bad) > 0 {
			t.Fatalf("the walkthrough made a server log:\n%s", strings.Join(bad, "\n"))
		}
	}
}

// TestDocsChangesExample runs docs/changes.md's example: its Caddyfile
// (on free ports) and its curl commands as written.
func TestDocsChangesExample(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("curl is not installed")
	}
	config := docBlocks(t, "docs/changes.md", "Example", "caddyfile", "changes {")[0]
	for old, new := range map[string]string{"{\n": "{\n\tadmin localhost:{admin}\n", "http_port 8888": "http_port {port}", ":8888 {": ":{port} {"} {
		if !strings.Contains(config, old) {
			t.Fatalf("docs/changes.md's example has no %q", old)
		}
		config = strings.Replace(config, old, new, 1)
	}
	s := testserver.Start(t, config)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	script := docBlocks(t, "docs/changes.md", "Example", "sh", "curl ")[0]
	out, err := runShell(ctx, strings.ReplaceAll(script, "localhost:8888", "localhost:"+strconv.Itoa(s.Port)))
	if err != nil || strings.Contains(out, `"errno"`) {
		t.Fatalf("docs/changes.md example: %v\n%s", err, out)
	}
	for _, want := range []string{`"collection":"cfr"`, `"host":"settings.example.com"`, `"enabled":true`} {
		if !strings.Contains(out, want) {
			t.Fatalf("docs/changes.md example output lacks %q:\n%s", want, out)
		}
	}
}
