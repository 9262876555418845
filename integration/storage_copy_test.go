package integration

import (
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/changegate/changegate/internal/pgtest"
	"github.com/changegate/changegate/internal/testserver"
)

// copyServer serves a docstore on the given storage line.
const copyServer = `{
	admin localhost:{admin}
	http_port {port}
	auto_https off
	persist_config off
}
:{port} {
	docstore {
		%s
		userid_hmac_secret test-secret-of-16-bytes
	}
}
`

// runCopy runs `changegate docstore copy` and returns its output.
func runCopy(t *testing.T, from, to string) string {
	t.Helper()
	out, err := exec.Command(testserver.Binary(t), "docstore", "copy", "--from", from, "--to", to).CombinedOutput()
	if err != nil {
		t.Fatalf("copy %s → %s: %v\n%s", from, to, err, out)
	}
	return string(out)
}

// TestStorageCopy: a bolt store copied to PostgreSQL, twice, and back to a
// new bolt file serves the same answers: bodies, timestamps, tombstones,
// permissions.
func TestStorageCopy(t *testing.T) {
	dsn := pgtest.Schema(t, "pool_max_conns=4")
	// A path of its own rather than {dir}: the test needs a bolt file even
	// when CHANGEGATE_TEST_STORAGE swaps {dir} files for PostgreSQL.
	src := t.TempDir() + "/data.db"
	s := testserver.Start(t, fmt.Sprintf(copyServer, "storage bolt "+src))
	v1 := s.URL() + "/v1"
	do(t, "PUT", v1+"/buckets/main", `{"permissions":{"read":["system.Everyone"]}}`, basic("alice")).expectStatus(t, 201)
	do(t, "PUT", v1+"/buckets/main/collections/c", `{"data":{"title":"C"}}`, basic("alice")).expectStatus(t, 201)
	do(t, "PUT", v1+"/buckets/main/groups/g", `{"data":{"members":["account:bob"]}}`, basic("alice")).expectStatus(t, 201)
	for i := range 30 {
		do(t, "PUT", fmt.Sprintf("%s/buckets/main/collections/c/records/r%02d", v1, i), fmt.Sprintf(`{"data":{"n":%d, "z":"é"}}`, i), basic("alice")).expectStatus(t, 201)
	}
	do(t, "DELETE", v1+"/buckets/main/collections/c/records/r07", "", basic("alice")).expectStatus(t, 200)
	paths := []string{
		"/buckets", "/buckets/main", "/buckets/main/collections/c", "/buckets/main/groups/g",
		"/buckets/main/collections/c/records/r03",
		"/buckets/main/collections/c/records?_since=0&_sort=last_modified",
		"/buckets/main/collections/c/records?_since=0&_sort=-last_modified&_limit=5",
	}
	snapshot := func(v1 string) []string {
		var out []string
		for _, p := range paths {
			r := do(t, "GET", v1+p, "", basic("alice"))
			out = append(out, fmt.Sprintf("%s %d %s %s", p, r.status, r.header.Get("ETag"), r.body))
		}
		return out
	}
	before := snapshot(v1)
	s.Stop()

	missing, err := exec.Command(testserver.Binary(t), "docstore", "copy", "--from", "bolt:"+src+"-missing", "--to", dsn).CombinedOutput()
	if err == nil || !strings.Contains(string(missing), "no such file") {
		t.Fatalf("copy from a missing file: %v %s; want a refusal", err, missing)
	}
	out := runCopy(t, "bolt:"+src, dsn)
	if !strings.Contains(out, "copied 32 objects and 1 tombstones in 4 lists") {
		t.Fatalf("copy reported %q", out)
	}
	runCopy(t, "bolt:"+src, dsn)
	pg := testserver.Start(t, fmt.Sprintf(copyServer, fmt.Sprintf("storage postgres %q", dsn)))
	compare(t, "postgres", before, snapshot(pg.URL()+"/v1"))
	pg.Stop()

	back := t.TempDir() + "/back.db"
	runCopy(t, "postgres:"+dsn, "bolt:"+back)
	b := testserver.Start(t, fmt.Sprintf(copyServer, "storage bolt "+back))
	compare(t, "bolt copied back", before, snapshot(b.URL()+"/v1"))
}

// compare fails on the first answer that differs.
func compare(t *testing.T, name string, want, got []string) {
	t.Helper()
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("%s answers\n%s\nwant\n%s", name, got[i], want[i])
		}
	}
}
