package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestSidecarFeedLongpoll: a longpoll _changes feed through the sidecar
// wakes up for a write made through the sidecar (at once) and for one
// made straight to the upstream (within about a poll interval), and
// lists the upstream's records.
func TestSidecarFeedLongpoll(t *testing.T) {
	forEachUpstream(t, func(t *testing.T, env *sidecarEnv) {
		since := changesPost(t, env.side, certificates, `{"n":0}`)
		feed := env.side + certificates + "/_changes?feed=longpoll&timeout=10000&since="

		for _, tc := range []struct {
			name, v1 string
			within   time.Duration
		}{
			{"through the sidecar", env.side, time.Second},
			{"straight to the upstream", env.up, time.Second + 5*sidecarPoll},
		} {
			got := make(chan result, 1)
			start := time.Now()
			go func(since int64) {
				r, err := tryDo("GET", fmt.Sprint(feed, since), "", basic("alice"))
				if err != nil {
					r = result{status: -1, body: err.Error()}
				}
				got <- r
			}(since)
			time.Sleep(100 * time.Millisecond) // the poll is waiting
			ts := changesPost(t, tc.v1, certificates, `{"n":1}`)
			r := <-got
			took := time.Since(start)
			r.expectStatus(t, 200)
			body := r.json(t)
			results := body["results"].([]any)
			if len(results) != 1 || fmt.Sprint(results[0].(map[string]any)["seq"]) != fmt.Sprint(ts) || body["last_seq"] != fmt.Sprint(ts) {
				t.Fatalf("%s: feed answered %s, want the record at %d", tc.name, r.body, ts)
			}
			if took > tc.within {
				t.Fatalf("%s: the feed woke after %v, want within %v", tc.name, took, tc.within)
			}
			t.Logf("%s: woke after %v", tc.name, took)
			since = ts
		}

		do(t, "GET", feed+"0", "").expect(t, 401, msg401)
		do(t, "GET", feed+"0", "", basic("bob")).expect(t, 403, msg403)

		// A normal feed of the upstream's collection has no ETag (its
		// position would cost a request to the upstream); the monitor's
		// feed, read in the sidecar, has one.
		normal := do(t, "GET", env.side+certificates+"/_changes", "", basic("alice"))
		normal.expectStatus(t, 200)
		normal.expectHeader(t, "ETag", "")
		monitor := do(t, "GET", env.side+"/buckets/monitor/collections/changes/_changes", "")
		monitor.expectStatus(t, 200)
		if monitor.header.Get("ETag") == "" {
			t.Errorf("monitor feed without ETag: %v", monitor.header)
		}
	})
}

// TestSidecarFeedPending: with a limit, the sidecar's pending counts
// what the limit left out as the standalone server does (the upstream
// counts with HEAD …/records?_since=, Total-Records), in normal feeds
// and in a continuous feed's final line, over 12 changes (two of them
// tombstones).
func TestSidecarFeedPending(t *testing.T) {
	_, standalone := startChanges(t)
	changesSetUp(t, standalone)
	forEachUpstream(t, func(t *testing.T, env *sidecarEnv) {
		for _, v1 := range []string{standalone, env.side} {
			for i := range 12 {
				do(t, "PUT", fmt.Sprintf("%s%s/records/r%d", v1, certificates, i), `{"data":{}}`, basic("alice")).expectStatus(t, 201)
			}
			for i := range 2 {
				do(t, "DELETE", fmt.Sprintf("%s%s/records/r%d", v1, certificates, i), "", basic("alice")).expectStatus(t, 200)
			}
		}
		for _, c := range []struct {
			query   string
			pending int
		}{
			{"limit=0", 12},
			{"limit=5", 7},
			{"descending=true&limit=3", 9},
			{"limit=12", 0},
			{"limit=11", 1},
			{"feed=continuous&timeout=0&limit=5", 7},
			{"feed=continuous&timeout=0&limit=0", 12},
		} {
			for _, v1 := range []string{standalone, env.side} {
				r := do(t, "GET", v1+certificates+"/_changes?"+c.query, "", basic("alice")).expectStatus(t, 200)
				want := fmt.Sprintf(`,"pending":%d}`, c.pending)
				if !strings.Contains(r.body, want) {
					t.Errorf("%s %s: %q, want pending %d", v1, c.query, r.body, c.pending)
				}
			}
		}
	})
}
