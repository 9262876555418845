package bolt

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// TestChangelogNamesTheStorageFormat keeps CHANGELOG.md true: the format
// this engine writes is the one the changelog names last.
func TestChangelogNamesTheStorageFormat(t *testing.T) {
	b, err := os.ReadFile("../../CHANGELOG.md")
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("Storage format: **%d**.", formatVersion)
	i := strings.Index(string(b), "Storage format: **")
	if i < 0 || !strings.HasPrefix(string(b)[i:], want) {
		t.Fatalf("the first storage format CHANGELOG.md names is not %q", want)
	}
}
