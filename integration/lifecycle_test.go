package integration

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/changegate/changegate/internal/testserver"
)

// seed creates bucket b and collection c.
func seed(t *testing.T, v1 string) {
	t.Helper()
	do(t, "PUT", v1+"/buckets/b", "{}").expectStatus(t, 201)
	do(t, "PUT", v1+"/buckets/b/collections/c", "{}").expectStatus(t, 201)
}

// TestRestartKeepsEverything writes, stops the server (gracefully, then
// with SIGKILL right after acknowledged writes) and reads back identical
// objects and timestamps.
func TestRestartKeepsEverything(t *testing.T) {
	s := testserver.Start(t, standalone)
	v1 := s.URL() + "/v1"
	seed(t, v1)
	recs := v1 + "/buckets/b/collections/c/records"
	for i := range 20 {
		do(t, "PUT", fmt.Sprintf("%s/r%d", recs, i), fmt.Sprintf(`{"data":{"i":%d,"s":"é\u2028"}}`, i)).expectStatus(t, 201)
	}
	before := do(t, "GET", recs, "").expectStatus(t, 200)
	one := do(t, "GET", recs+"/r7", "").expectStatus(t, 200)

	s.Stop()
	s.Restart()
	do(t, "GET", recs, "").expect(t, 200, before.body).expectHeader(t, "ETag", before.header.Get("ETag"))
	do(t, "GET", recs+"/r7", "").expect(t, 200, one.body).expectHeader(t, "ETag", one.header.Get("ETag"))

	// Acknowledged writes survive a crash: each was fsynced before its
	// response.
	last := do(t, "POST", recs, `{"data":{"crash":true}}`).expectStatus(t, 201)
	s.Kill()
	s.Restart()
	id := last.json(t)["data"].(map[string]any)["id"].(string)
	do(t, "GET", recs+"/"+id, "").expect(t, 200, last.body)
	after := do(t, "GET", recs, "").expectStatus(t, 200)
	if after.etag(t) != last.etag(t) {
		t.Fatalf("records timestamp after crash = %d, want %d", after.etag(t), last.etag(t))
	}
	if next := do(t, "POST", recs, `{"data":{}}`).expectStatus(t, 201); next.etag(t) <= last.etag(t) {
		t.Fatalf("timestamp went back after restart: %d after %d", next.etag(t), last.etag(t))
	}
}

// TestReloadWhileWriting reloads the config repeatedly while writers run:
// no request fails and every acknowledged write is there afterwards.
func TestReloadWhileWriting(t *testing.T) {
	s := testserver.Start(t, standalone)
	v1 := s.URL() + "/v1"
	seed(t, v1)
	recs := v1 + "/buckets/b/collections/c/records"

	var (
		wg      sync.WaitGroup
		stop    atomic.Bool
		mu      sync.Mutex
		written []string
		failed  []string
	)
	for w := range 4 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				id := fmt.Sprintf("w%d-%d", w, i)
				// PUT is idempotent: the key lets the client retry when a
				// reload closes the idle keep-alive connection it picked,
				// as any HTTP client should.
				r, err := tryDo("PUT", recs+"/"+id, `{"data":{"x":1}}`, "Idempotency-Key: "+id)
				mu.Lock()
				if err == nil && r.status == 201 {
					written = append(written, id)
				} else {
					failed = append(failed, fmt.Sprintf("%s: %d %s %v", id, r.status, r.body, err))
				}
				mu.Unlock()
			}
		})
	}
	for i := range 5 {
		// Alternate two configs so each reload really changes something.
		cfg := strings.Replace(standalone, "flush_endpoint", fmt.Sprintf("batch_max_requests %d", 20+i), 1)
		if err := s.Reload(cfg); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	if len(failed) > 0 {
		t.Fatalf("%d writes failed during reloads, first: %s", len(failed), failed[0])
	}
	if len(written) < 20 {
		t.Fatalf("only %d writes went through", len(written))
	}
	total := do(t, "HEAD", recs, "").expectStatus(t, 200).header.Get("Total-Records")
	if total != fmt.Sprint(len(written)) {
		t.Fatalf("Total-Records = %s after %d acknowledged writes", total, len(written))
	}
	if got := do(t, "GET", v1+"/", "").json(t)["settings"].(map[string]any)["batch_max_requests"]; fmt.Sprint(got) != "24" {
		t.Fatalf("reloaded config not in effect: batch_max_requests = %v", got)
	}
}
