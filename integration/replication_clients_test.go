package integration

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/changegate/changegate/internal/testserver"
)

// replicationCaddyfile is a standalone changegate whose bucket priv
// nobody reads by default.
const replicationCaddyfile = changesGlobal + `:{port} {
	encode gzip
	changes {
		resources /buckets/priv
	}
	docstore {
		storage bolt {dir}/data.db
		userid_hmac_secret test-secret-of-16-bytes
		flush_endpoint
	}
}
`

// replicationSidecarCaddyfile is a sidecar in front of the upstream %[1]s
// (its /v1 URL) at host %[2]s; its service account svc polls.
const replicationSidecarCaddyfile = changesGlobal + `:{port} {
	changes {
		resources /buckets/priv
		upstream %[1]s {
			poll_interval 200ms
			timeout 2s
			auth basic svc pw
		}
	}
	reverse_proxy %[2]s
}
`

// replicationFixture creates priv/c as alice, readable by bob; carol
// may read nothing.
func replicationFixture(t *testing.T, v1 string) {
	t.Helper()
	do(t, "PUT", v1+"/buckets/priv", "{}", basic("alice")).expectStatus(t, 201)
	body := fmt.Sprintf(`{"permissions":{"read":[%q]}}`, userID("bob"))
	do(t, "PUT", v1+"/buckets/priv/collections/c", body, basic("alice")).expectStatus(t, 201)
}

// runReplicationClient runs clients/replicate.mjs against db, whose
// revisions are numbered by revs ("generation" or "last_modified"),
// restarts server when the script asks, and fails unless it exits 0
// having printed every line of want.
func runReplicationClient(t *testing.T, db, revs string, server *testserver.Server, want ...string) {
	t.Helper()
	node := nodeOrSkip(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "replicate.mjs")
	cmd.Dir = clientsDir
	cmd.Env = append(os.Environ(), "DB="+db, "REVS="+revs,
		"AUTH="+strings.TrimPrefix(basic("alice"), "Authorization: "),
		"READER="+strings.TrimPrefix(basic("bob"), "Authorization: "),
		"STRANGER="+strings.TrimPrefix(basic("carol"), "Authorization: "))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	lines := bufio.NewScanner(stdout)
	for lines.Scan() {
		out.WriteString(lines.Text() + "\n")
		if lines.Text() == "restart now" {
			server.Stop()
			server.Restart()
			_, _ = io.WriteString(stdin, "restarted\n")
			_ = stdin.Close()
		}
	}
	err = cmd.Wait()
	t.Logf("node replicate.mjs: %v\n%s%s", time.Since(start), out.String(), stderr.String())
	if err != nil {
		t.Fatalf("node replicate.mjs: %v", err)
	}
	for _, w := range want {
		if !strings.Contains(out.String(), w) {
			t.Fatalf("node replicate.mjs: no %q in\n%s", w, out.String())
		}
	}
}

// nodeOrSkip finds node with the installed clients.
func nodeOrSkip(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(clientsDir, "node_modules", "pouchdb-replication")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("clients/node_modules missing: run npm ci --prefix clients")
		}
		t.Skip("clients/node_modules missing: run npm ci --prefix clients")
	}
	node, err := exec.LookPath("node")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("node not found")
		}
		t.Skip("node not found")
	}
	return node
}

// replicationWant are the script's checks.
var replicationWant = []string{"ok one-shot pull: 1000 docs", "ok open_revs and allDocs keys", "ok second pull: 20 docs",
	"ok third pull: 2 docs, re-created and updated", "ok live pull: a write arrived",
	"ok live pull after restart", "ok read-only reader: 1007 then 1 docs, source checkpoint refused 403",
	"ok carol refused: 403", "ok anonymous refused: 401", "ok monitor pull: 1 entries"}

// TestReplicationPouchDB: PouchDB pulls a collection of the embedded
// docstore; deletions and updates of records it holds replace them.
func TestReplicationPouchDB(t *testing.T) {
	s := testserver.Start(t, replicationCaddyfile)
	v1 := s.URL() + "/v1"
	replicationFixture(t, v1)
	runReplicationClient(t, v1+"/buckets/priv/collections/c", "generation", s, replicationWant...)
}

// TestReplicationPouchDBSidecar: PouchDB pulls through a sidecar, the
// documents coming from the upstream; the sidecar restarts.
func TestReplicationPouchDBSidecar(t *testing.T) {
	up := testserver.Start(t, sidecarUpstreamCaddyfile)
	upV1 := up.URL() + "/v1"
	replicationFixture(t, upV1)
	// The service account reads the bucket, so that a sidecar knows the
	// collection (and its monitor lists it) from its start.
	body := fmt.Sprintf(`{"permissions":{"read":[%q]}}`, userID("svc"))
	do(t, "PATCH", upV1+"/buckets/priv", body, basic("alice")).expectStatus(t, 200)
	u, _ := url.Parse(upV1)
	side := testserver.Start(t, fmt.Sprintf(replicationSidecarCaddyfile, upV1, u.Host))
	runReplicationClient(t, side.URL()+"/v1/buckets/priv/collections/c", "last_modified", side, replicationWant...)
}
