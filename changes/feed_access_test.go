package changes

import (
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
)

// countingAccess counts the permission lookups of the Access it wraps.
type countingAccess struct {
	Access
	checks atomic.Int64
}

func (a *countingAccess) CanRead(r *http.Request, k Key) error {
	a.checks.Add(1)
	return a.Access.CanRead(r, k)
}

// TestFeedAccessChecksOnlyWhenPermissionsMove: a continuous feed asks
// for the read permission once when it opens, then never for record
// writes, and once more after a write that may change permissions.
func TestFeedAccessChecksOnlyWhenPermissionsMove(t *testing.T) {
	f := newFeedFixture(t)
	ca := &countingAccess{Access: f.h.access}
	f.h.access = ca
	srv := f.server()
	s := open(t, "GET", srv.URL+feedColl+"/_changes?feed=continuous&since=now&heartbeat=10000", "")
	for i := range 50 {
		f.put(string(rune('a'+i%26))+strings.Repeat("x", i/26), "{}")
	}
	for range 50 {
		if l := s.row(); !strings.HasPrefix(l, `{"seq":`) {
			t.Fatalf("row line %q", l)
		}
	}
	if n := ca.checks.Load(); n != 1 {
		t.Fatalf("%d permission lookups for 50 rows, want 1 (the opening)", n)
	}
	f.ok("PATCH", feedColl, `{"data":{"note":"permissions may have moved"}}`)
	f.put("last", "{}")
	if l := s.row(); !strings.Contains(l, `"id":"last"`) {
		t.Fatalf("row after the collection write %q", l)
	}
	if n := ca.checks.Load(); n != 2 {
		t.Fatalf("%d permission lookups after a collection write, want 2", n)
	}
}

// row reads the next line that is not a heartbeat.
func (s *stream) row() string {
	s.t.Helper()
	for {
		if l := s.line(); l != "\n" {
			return l
		}
	}
}
