package feeds

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
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

// renewingAccess is an Access whose yes expires after ttl, as a
// sidecar's upstream answers do; deny makes it refuse.
type renewingAccess struct {
	countingAccess
	ttl  time.Duration
	deny atomic.Bool
}

func (a *renewingAccess) CanRead(r *http.Request, k Key) error {
	a.checks.Add(1)
	if a.deny.Load() {
		return errors.New("refused")
	}
	return a.Access.CanRead(r, k)
}
func (a *renewingAccess) AccessGeneration() uint64 { return 0 }
func (a *renewingAccess) AccessTTL() time.Duration { return a.ttl }

// TestFeedAccessRenewsAfterTTL: with answers that expire, a feed asks
// again before sending rows once the TTL passed, not before, and a
// refusal then ends it without the rows.
func TestFeedAccessRenewsAfterTTL(t *testing.T) {
	f := newFeedFixture(t)
	ra := &renewingAccess{countingAccess: countingAccess{Access: f.h.access}, ttl: 300 * time.Millisecond}
	f.h.access = ra
	srv := f.server()
	s := open(t, "GET", srv.URL+feedColl+"/_changes?feed=continuous&since=now&heartbeat=10000", "")
	a := f.put("a", "{}")
	if l := s.row(); l != row("a", a, 1, false)+"\n" {
		t.Fatalf("row %q", l)
	}
	if n := ra.checks.Load(); n != 1 {
		t.Fatalf("%d checks within the TTL, want 1", n)
	}
	time.Sleep(350 * time.Millisecond)
	b := f.put("b", "{}")
	if l := s.row(); l != row("b", b, 1, false)+"\n" {
		t.Fatalf("row %q", l)
	}
	if n := ra.checks.Load(); n != 2 {
		t.Fatalf("%d checks after the TTL, want 2", n)
	}
	ra.deny.Store(true)
	time.Sleep(350 * time.Millisecond)
	f.put("secret", "{}")
	if got, want := s.rest(), fmt.Sprintf(`{"last_seq":"%d","pending":0}`, b)+"\n\n"; got != want {
		t.Fatalf("after the refusal %q, want %q", got, want)
	}
}
