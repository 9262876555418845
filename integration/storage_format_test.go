package integration

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/changegate/changegate/internal/testserver"
)

// testdata/format1.db was written by changegate at 7710df3 (storage
// format 1): bucket main (readable by everyone), collection c, record a
// written twice ("second"), record b written and deleted, all by
// alice:s3cret.

// copyFormat1 copies testdata/format1.db into a new directory.
func copyFormat1(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile("testdata/format1.db")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "format1.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestStorageFormat1: a file of the previous storage format is copied
// without being changed, and opened by a server, which upgrades it, says
// so in its log, and numbers its records from generation 1.
func TestStorageFormat1(t *testing.T) {
	src := copyFormat1(t)
	before, _ := os.ReadFile(src)
	out := runCopy(t, "bolt:"+src, "bolt:"+filepath.Join(t.TempDir(), "copy.db"))
	if !strings.Contains(out, "copied 3 objects and 1 tombstones in 4 lists") || strings.Contains(out, "upgraded") {
		t.Fatalf("copy of a format 1 file reported %q", out)
	}
	if after, _ := os.ReadFile(src); !bytes.Equal(before, after) {
		t.Fatal("copy changed its format 1 source")
	}

	s := testserver.Start(t, fmt.Sprintf(`{
	admin localhost:{admin}
	http_port {port}
	auto_https off
	persist_config off
}
:{port} {
	changes
	docstore {
		storage bolt %s
		userid_hmac_secret test-secret-of-16-bytes
	}
}
`, src))
	if log := s.Log(); !strings.Contains(log, `"msg":"upgraded the storage format: changegate versions that read only the old format refuse it now"`) ||
		!strings.Contains(log, `"from_format":1,"to_format":2`) {
		t.Fatalf("no upgrade in the server's log:\n%s", log)
	}
	db := s.URL() + "/v1/buckets/main/collections/c"
	feed := do(t, "GET", db+"/_changes", "", "").expectStatus(t, 200)
	want := fmt.Sprintf(`{"results":[`+"\n"+
		`{"seq":"1796533978537","id":"a","changes":[{"rev":%q}]},`+"\n"+
		`{"seq":"1796533978570","id":"b","changes":[{"rev":%q}],"deleted":true}`+"\n"+
		`],`+"\n"+`"last_seq":"1796533978570","pending":0}`, replicationRev("a", 1), replicationRev("b", 1))
	if got := strings.ReplaceAll(strings.TrimSpace(feed.body), "\r", ""); got != want {
		t.Fatalf("feed of the upgraded file:\n%s\nwant\n%s", got, want)
	}
	do(t, "PUT", db+"/records/a", `{"data":{"title":"third"}}`, "Content-Type: application/json", "Authorization: Basic YWxpY2U6czNjcmV0").expectStatus(t, 200)
	r := do(t, "GET", db+"/a", "", "").expectStatus(t, 200)
	if !strings.Contains(r.body, fmt.Sprintf(`"_rev":%q,"title":"third"`, replicationRev("a", 2))) {
		t.Fatalf("record a after its first write in format 2: %s; want generation 2", r.body)
	}
	s.Stop()
}
