package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/changegate/changegate/internal/testserver"
)

// backupCLI runs `changegate docstore backup` against s's admin API.
func backupCLI(t *testing.T, s *testserver.Server, args ...string) (string, error) {
	t.Helper()
	argv := append([]string{"docstore", "backup", "--address", fmt.Sprintf("localhost:%d", s.AdminPort)}, args...)
	out, err := exec.Command(testserver.Binary(t), argv...).CombinedOutput()
	return string(out), err
}

// TestBackupUnderLoadAndRestore backs up a store while writers keep
// writing, restores the copy into a fresh server, and finds there every
// write acknowledged before the backup command started.
func TestBackupUnderLoadAndRestore(t *testing.T) {
	testserver.BoltOnly(t)
	s := testserver.Start(t, standalone)
	v1 := s.URL() + "/v1"
	do(t, "PUT", v1+"/buckets/b", "{}").expectStatus(t, 201)
	do(t, "PUT", v1+"/buckets/b/collections/c", "{}").expectStatus(t, 201)
	records := v1 + "/buckets/b/collections/c/records"

	type ack struct {
		id string
		at time.Time
	}
	var (
		mu    sync.Mutex
		acks  []ack
		stop  = make(chan struct{})
		wg    sync.WaitGroup
		fails = make(chan error, 4)
	)
	for w := range 4 {
		wg.Go(func() {
			for i := 0; i < 2000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("w%d-%d", w, i)
				r, err := tryDo("PUT", records+"/"+id, fmt.Sprintf(`{"data":{"n":%d}}`, i))
				if err == nil && r.status != 201 {
					err = fmt.Errorf("PUT %s: %d %s", id, r.status, r.body)
				}
				if err != nil {
					fails <- err
					return
				}
				mu.Lock()
				acks = append(acks, ack{id, time.Now()})
				mu.Unlock()
			}
		})
	}
	retryUntil(t, "100 writes acknowledged", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(acks) >= 100
	})
	backup := filepath.Join(t.TempDir(), "backup.db")
	started := time.Now()
	out, err := backupCLI(t, s, backup)
	close(stop)
	wg.Wait()
	close(fails)
	for err := range fails {
		t.Fatal(err)
	}
	if err != nil {
		t.Fatalf("backup: %v\n%s", err, out)
	}
	if !strings.HasPrefix(out, "backup written to "+backup+": ") || !strings.Contains(out, "snapshot of 20") {
		t.Fatalf("backup output: %q", out)
	}
	mu.Lock()
	var before []string
	for _, a := range acks {
		if a.at.Before(started) {
			before = append(before, a.id)
		}
	}
	total := len(acks)
	mu.Unlock()

	// Restore: the copy becomes the storage file of a fresh server.
	restored := testserver.Start(t, strings.Replace(standalone, "{dir}/data.db", backup, 1))
	list := do(t, "GET", restored.URL()+"/v1/buckets/b/collections/c/records?_fields=id", "").expectStatus(t, 200)
	have := map[string]bool{}
	for _, rec := range list.json(t)["data"].([]any) {
		have[rec.(map[string]any)["id"].(string)] = true
	}
	for _, id := range before {
		if !have[id] {
			t.Errorf("%s was acknowledged before the backup started and is not in it", id)
		}
	}
	if len(have) < len(before) || len(have) > total {
		t.Fatalf("restored %d records; %d acknowledged before the backup, %d in all", len(have), len(before), total)
	}
	t.Logf("%d writes acknowledged before the backup, %d restored, %d in all", len(before), len(have), total)
	do(t, "PUT", restored.URL()+"/v1/buckets/b/collections/c/records/after", `{"data":{}}`).expectStatus(t, 201)
}

// TestBackupRefusals: an existing file is kept without --force, and a
// server without a docstore says so.
func TestBackupRefusals(t *testing.T) {
	testserver.BoltOnly(t)
	s := testserver.Start(t, standalone)
	existing := filepath.Join(t.TempDir(), "existing.db")
	if err := os.WriteFile(existing, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := backupCLI(t, s, existing)
	if err == nil || !strings.Contains(out, existing+" exists: choose another file or use --force") {
		t.Fatalf("backup over an existing file: %v\n%s", err, out)
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep me" {
		t.Fatalf("existing file changed: %q", b)
	}
	out, err = backupCLI(t, s, "--force", existing)
	if err != nil {
		t.Fatalf("backup --force: %v\n%s", err, out)
	}

	plain := testserver.Start(t, `{
	admin localhost:{admin}
	http_port {port}
	auto_https off
	persist_config off
}
:{port} {
	respond "hello"
}
`)
	out, err = backupCLI(t, plain, filepath.Join(t.TempDir(), "none.db"))
	if err == nil || !strings.Contains(out, "HTTP 404") || !strings.Contains(out, "no docstore storage is open in this server") {
		t.Fatalf("backup of a server without docstore: %v\n%s", err, out)
	}
}

// TestBackupNamesTheStorage: with two storages open, the backup needs
// --storage, and copies the one named.
func TestBackupNamesTheStorage(t *testing.T) {
	testserver.BoltOnly(t)
	second := testserver.FreePort(t)
	s := testserver.Start(t, fmt.Sprintf(`{
	admin localhost:{admin}
	http_port {port}
	auto_https off
	persist_config off
}
:{port} {
	docstore {
		storage bolt {dir}/one.db
		insecure_allow_all
		basicauth off
		default_bucket off
	}
}
:%d {
	docstore {
		storage bolt {dir}/two.db
		insecure_allow_all
		basicauth off
		default_bucket off
	}
}
`, second))
	do(t, "PUT", fmt.Sprintf("http://127.0.0.1:%d/v1/buckets/only-in-two", second), "{}").expectStatus(t, 201)
	target := filepath.Join(t.TempDir(), "two-backup.db")
	out, err := backupCLI(t, s, target)
	if err == nil || !strings.Contains(out, "HTTP 400") || !strings.Contains(out, "several storages are open") {
		t.Fatalf("backup without --storage: %v\n%s", err, out)
	}
	if out, err := backupCLI(t, s, "--storage", filepath.Join(s.Dir(), "two.db"), target); err != nil {
		t.Fatalf("backup --storage: %v\n%s", err, out)
	}
	restored := testserver.Start(t, strings.Replace(standalone, "{dir}/data.db", target, 1))
	do(t, "GET", restored.URL()+"/v1/buckets/only-in-two", "").expectStatus(t, 200)
}
