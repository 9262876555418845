package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// clientsDir holds the npm client scripts (clients/, installed by
// `npm ci --prefix clients`).
var clientsDir = filepath.Join("..", "clients")

// runClient runs a node script of clients/ against collection main/c of
// a fresh changegate, and fails unless it exits 0 having printed want.
func runClient(t *testing.T, script string, want ...string) {
	t.Helper()
	node := nodeOrSkip(t)
	_, v1 := startFeeds(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, script)
	cmd.Dir = clientsDir
	cmd.Env = append(os.Environ(), "DB="+v1+"/buckets/main/collections/c", "AUTH="+strings.TrimPrefix(basic("alice"), "Authorization: "))
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("node %s: %v\n%s", script, time.Since(start), out)
	if err != nil {
		t.Fatalf("node %s: %v\n%s", script, err, out)
	}
	for _, w := range want {
		if !strings.Contains(string(out), w) {
			t.Fatalf("node %s: no %q in\n%s", script, w, out)
		}
	}
}

// TestFeedsClientNano: nano db.changes and changesReader.
func TestFeedsClientNano(t *testing.T) {
	runClient(t, "nano.mjs", "ok db.changes", "ok changesReader")
}

// TestFeedsClientEventSource: the eventsource package, live and resuming
// with Last-Event-ID.
func TestFeedsClientEventSource(t *testing.T) {
	runClient(t, "eventsource.mjs", "ok eventsource resume", "ok eventsource heartbeat")
}

// TestFeedsClientPouchDB: PouchDB's HTTP adapter, one-shot and live.
func TestFeedsClientPouchDB(t *testing.T) {
	runClient(t, "pouchdb.mjs", "ok changes", "ok live changes")
}
