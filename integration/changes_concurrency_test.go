package integration

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/changegate/changegate/internal/testserver"
)

// changesPoller is a client that syncs like Firefox: it follows the
// monitor's timestamp with _since, and each collection's changeset
// timestamp with _since, applying upserts and tombstones.
type changesPoller struct {
	v1, auth string
	// legacy polls the /records list (If-None-Match + _since on the
	// ETag) instead of the monitor changeset.
	legacy bool
	since  int64
	local  map[string]*changesLocal
}

// changesLocal is a poller's copy of one collection.
type changesLocal struct {
	ts      int64
	records map[string]string
}

// poll does one round; it reports whether anything was newer.
func (p *changesPoller) poll() (bool, error) {
	entries, ts, err := p.monitor()
	if err != nil {
		return false, err
	}
	newer := false
	for _, e := range entries {
		c := p.local[e.Collection]
		if c == nil {
			c = &changesLocal{records: map[string]string{}}
			p.local[e.Collection] = c
		}
		if e.LastModified <= c.ts {
			continue
		}
		newer = true
		if err := p.sync(e.Collection, e.LastModified, c); err != nil {
			return false, err
		}
	}
	p.since = ts
	return newer, nil
}

type changesEntry struct {
	Bucket, Collection string
	LastModified       int64 `json:"last_modified"`
}

// monitor reads the entries newer than the poller's timestamp.
func (p *changesPoller) monitor() ([]changesEntry, int64, error) {
	if p.legacy {
		url := p.v1 + monitorRecords
		var headers []string
		if p.since > 0 {
			url += fmt.Sprintf("?_since=%d", p.since)
			headers = append(headers, "If-None-Match: "+changesQuoted(p.since))
		}
		r, err := tryDo("GET", url, "", headers...)
		if err != nil || r.status != 200 {
			return nil, 0, fmt.Errorf("records: %d %s %v", r.status, r.body, err)
		}
		var body struct{ Data []changesEntry }
		ts, _ := strconv.ParseInt(strings.Trim(r.header.Get("ETag"), `"`), 10, 64)
		return body.Data, ts, json.Unmarshal([]byte(r.body), &body)
	}
	url := p.v1 + monitorChangeset + "?_expected=0"
	if p.since > 0 {
		url += fmt.Sprintf(`&_since="%d"`, p.since)
	}
	r, err := tryDo("GET", url, "")
	if err != nil || r.status != 200 {
		return nil, 0, fmt.Errorf("monitor: %d %s %v", r.status, r.body, err)
	}
	var body struct {
		Timestamp int64
		Changes   []changesEntry
	}
	err = json.Unmarshal([]byte(r.body), &body)
	return body.Changes, body.Timestamp, err
}

// sync fetches one collection's changes since its local timestamp.
func (p *changesPoller) sync(collection string, expected int64, c *changesLocal) error {
	url := fmt.Sprintf("%s/buckets/main/collections/%s/changeset?_expected=%d", p.v1, collection, expected)
	if c.ts > 0 {
		url += fmt.Sprintf(`&_since="%d"`, c.ts)
	}
	r, err := tryDo("GET", url, "", p.auth)
	if err != nil || r.status != 200 {
		return fmt.Errorf("changeset: %d %s %v", r.status, r.body, err)
	}
	var body struct {
		Timestamp int64
		Changes   []json.RawMessage
	}
	if err := json.Unmarshal([]byte(r.body), &body); err != nil {
		return err
	}
	if body.Timestamp < c.ts {
		return nil // an older answer: ignored, as Firefox does
	}
	seen := map[string]bool{}
	for _, raw := range body.Changes {
		var ch struct {
			ID      string
			Deleted bool
		}
		if err := json.Unmarshal(raw, &ch); err != nil {
			return err
		}
		if seen[ch.ID] {
			return fmt.Errorf("%s listed twice in one changeset: %s", ch.ID, r.body)
		}
		seen[ch.ID] = true
		if ch.Deleted {
			delete(c.records, ch.ID)
		} else {
			c.records[ch.ID] = string(raw)
		}
	}
	c.ts = body.Timestamp
	return nil
}

// TestChangesConcurrentPollers runs writers and pollers together: every
// poller that follows timestamp → _since ends with exactly the final
// records of every collection, none missed, none twice.
func TestChangesConcurrentPollers(t *testing.T) {
	s := testserver.Start(t, changesConfig())
	v1 := s.URL() + "/v1"
	alice := basic("alice")
	collections := []string{"c0", "c1", "c2", "c3", "c4"}
	do(t, "PUT", v1+"/buckets/main", `{"permissions":{"read":["system.Everyone"]}}`, alice).expectStatus(t, 201)
	for _, c := range collections {
		do(t, "PUT", v1+"/buckets/main/collections/"+c, "{}", alice).expectStatus(t, 201)
	}
	changesReload(t, s, strings.Replace(changesConfig(), "resources /buckets/blocklists", "resources /buckets/main", 1))

	var (
		stop     atomic.Bool
		writes   atomic.Int64
		wg       sync.WaitGroup
		errMu    sync.Mutex
		failures []string
	)
	fail := func(format string, args ...any) {
		errMu.Lock()
		failures = append(failures, fmt.Sprintf(format, args...))
		errMu.Unlock()
	}
	for w := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 42))
			for i := 0; !stop.Load(); i++ {
				c := collections[rng.IntN(len(collections))]
				url := fmt.Sprintf("%s/buckets/main/collections/%s/records/r%d", v1, c, rng.IntN(12))
				var r result
				var err error
				switch rng.IntN(4) {
				case 0:
					r, err = tryDo("DELETE", url, "", alice)
				case 1:
					r, err = tryDo("PATCH", url, fmt.Sprintf(`{"data":{"patched":%d}}`, i), alice)
				default:
					r, err = tryDo("PUT", url, fmt.Sprintf(`{"data":{"writer":%d,"i":%d}}`, w, i), alice)
				}
				if err != nil || (r.status >= 300 && r.status != 404) {
					fail("write %s: %d %s %v", url, r.status, r.body, err)
					return
				}
				writes.Add(1)
			}
		})
	}
	pollers := make([]*changesPoller, 4)
	for i := range pollers {
		p := &changesPoller{v1: v1, auth: alice, legacy: i == 3, local: map[string]*changesLocal{}}
		pollers[i] = p
		wg.Go(func() {
			for !stop.Load() {
				if _, err := p.poll(); err != nil {
					fail("poller %d: %v", i, err)
					return
				}
			}
		})
	}
	time.Sleep(4 * time.Second)
	stop.Store(true)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d failures, first: %s", len(failures), failures[0])
	}
	if writes.Load() < 100 {
		t.Fatalf("only %d writes", writes.Load())
	}

	// Once writes stop, every poller converges on the final state.
	for i, p := range pollers {
		for range 2 {
			if _, err := p.poll(); err != nil {
				t.Fatalf("poller %d: %v", i, err)
			}
		}
		for _, c := range collections {
			list := do(t, "GET", v1+"/buckets/main/collections/"+c+"/records", "", alice).expectStatus(t, 200)
			want := map[string]string{}
			for _, raw := range changesList(t, list.body, "data") {
				var rec struct{ ID string }
				_ = json.Unmarshal(raw, &rec)
				want[rec.ID] = string(raw)
			}
			local := p.local[c]
			if local == nil {
				local = &changesLocal{}
			}
			if fmt.Sprint(local.records) != fmt.Sprint(want) || (len(want) > 0 && local.ts != list.etag(t)) {
				t.Fatalf("poller %d (legacy %v), %s at %d:\n got %v\nwant %v (at %d)", i, p.legacy, c, local.ts, local.records, want, list.etag(t))
			}
		}
	}
	t.Logf("%d writes; pollers converged", writes.Load())
}
