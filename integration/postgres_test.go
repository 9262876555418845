package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/changegate/changegate/internal/pgtest"
	"github.com/changegate/changegate/internal/testserver"
)

// postgresCaddyfile is one instance of a scale-out deployment: the
// docstore on a shared PostgreSQL database, with change feeds.
const postgresCaddyfile = changesGlobal + `:{port} {
	changes {
		resources /buckets/main
	}
	docstore {
		storage postgres "%s"
		userid_hmac_secret test-secret-of-16-bytes
	}
}
`

// startPair runs two changegate processes on one fresh schema and creates
// bucket main (readable by everyone) and collection main/c through the
// first; it returns both /v1 URLs.
func startPair(t *testing.T) (a, b string) {
	t.Helper()
	return startPairOn(t, pgtest.Schema(t, "pool_max_conns=8"))
}

// startPairOn is startPair on the schema of dsn.
func startPairOn(t *testing.T, dsn string) (a, b string) {
	t.Helper()
	sa := testserver.Start(t, fmt.Sprintf(postgresCaddyfile, dsn))
	sb := testserver.Start(t, fmt.Sprintf(postgresCaddyfile, dsn))
	a, b = sa.URL()+"/v1", sb.URL()+"/v1"
	do(t, "PUT", a+"/buckets/main", `{"permissions":{"read":["system.Everyone"]}}`, basic("alice")).expectStatus(t, 201)
	do(t, "PUT", a+"/buckets/main/collections/c", "{}", basic("alice")).expectStatus(t, 201)
	return a, b
}

// TestPostgresSharedData: what one instance writes, the other serves, with
// the same body, ETag and permissions, and B's cached monitor and
// collection changesets follow A's write at once.
func TestPostgresSharedData(t *testing.T) {
	a, b := startPair(t)
	feedsPut(t, a, "c", "r0")
	do(t, "GET", b+monitorChangeset+"?_expected=0", "").expectStatus(t, 200)
	do(t, "GET", b+"/buckets/main/collections/c/changeset?_expected=0", "").expectStatus(t, 200)
	w := do(t, "PUT", a+"/buckets/main/collections/c/records/r1", `{"data":{"z":1, "title":"été","a":[1,2]}}`, basic("alice")).expectStatus(t, 201)
	lm := changesNumber(t, w.json(t)["data"].(map[string]any)["last_modified"])
	r := do(t, "GET", b+"/buckets/main/collections/c/records/r1", "", basic("alice")).expectStatus(t, 200)
	if r.body != w.body {
		t.Fatalf("instance B serves %s; A answered the write with %s", r.body, w.body)
	}
	r.expectHeader(t, "ETag", fmt.Sprintf(`"%d"`, lm))
	do(t, "GET", b+"/buckets/main/collections/c/records/r1", "", basic("mallory")).expectStatus(t, 200)
	// The event reaches B within milliseconds; the changesets must then
	// show the write whatever they cached before.
	time.Sleep(200 * time.Millisecond)
	e := changesEntries(t, do(t, "GET", b+monitorChangeset+"?_expected=0", "").body, "changes")
	if len(e) != 1 || e[0]["collection"] != "c" || changesNumber(t, e[0]["last_modified"]) != lm {
		t.Fatalf("B's monitor changeset lists %v; want main/c at %d", e, lm)
	}
	cs := do(t, "GET", b+"/buckets/main/collections/c/changeset?_expected=0", "").json(t)
	if got := changesNumber(t, cs["timestamp"]); got != lm {
		t.Fatalf("B's changeset of main/c has timestamp %d; want %d", got, lm)
	}
	do(t, "PUT", b+"/buckets/main/collections/c/records/r1", `{"data":{}}`, basic("mallory")).expectStatus(t, 403)
}

// TestPostgresLongpollAcrossInstances: a _changes longpoll parked on
// instance B is answered by a write through instance A.
func TestPostgresLongpollAcrossInstances(t *testing.T) {
	a, b := startPair(t)
	feedsPut(t, a, "c", "first")
	var lat []time.Duration
	for i := range 20 {
		resp := openFeed(t, "GET", b+"/buckets/main/collections/c/_changes?feed=longpoll&since=now&timeout=10000", "")
		time.Sleep(50 * time.Millisecond)
		start := time.Now()
		id := fmt.Sprint("r", i)
		lm := feedsPut(t, a, "c", id)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		lat = append(lat, time.Since(start))
		if want := fmt.Sprintf(`{"seq":"%d","id":%q,`, lm, id); !strings.Contains(string(body), want) {
			t.Fatalf("longpoll on B answered %q; want a row %s", body, want)
		}
	}
	slices.Sort(lat)
	t.Logf("write on A to longpoll answered on B, %d runs: min %v, median %v, max %v", len(lat), lat[0], lat[len(lat)/2], lat[len(lat)-1])
}

// TestPostgresNoMissedChange: 2 instances × 8 concurrent writers in one
// collection; on each instance a follower polling records with _since, one
// reading the collection changeset with _since and one following _changes
// with longpolls see every acknowledged write exactly once, and both
// monitor changesets end at the collection's last timestamp. Writers
// stop after 25 writes each, or after CHANGEGATE_NOMISS_SECONDS seconds
// when set (the sustained run of bench/scale-out.md).
func TestPostgresNoMissedChange(t *testing.T) {
	a, b := startPair(t)
	const writers = 8
	each, until := 25, time.Time{}
	if v := os.Getenv("CHANGEGATE_NOMISS_SECONDS"); v != "" {
		secs, err := strconv.Atoi(v)
		if err != nil {
			t.Fatal(err)
		}
		each, until = 1<<30, time.Now().Add(time.Duration(secs)*time.Second)
	}
	stop := followAll(t, a, b)
	var writes atomic.Int64
	var wwg sync.WaitGroup
	for i, v1 := range []string{a, b} {
		for w := range writers {
			wwg.Go(func() { putRecords(t, v1, fmt.Sprintf("i%d-w%d", i, w), each, until, &writes) })
		}
	}
	wwg.Wait()
	results := stop()
	want := int(writes.Load())
	t.Logf("%d acknowledged writes by %d writers on 2 instances", want, 2*writers)
	expectEachOnce(t, results, want)
	last := changesNumber(t, do(t, "GET", a+"/buckets/main/collections/c/changeset?_expected=0", "").json(t)["timestamp"])
	for _, v1 := range []string{a, b} {
		e := changesEntries(t, do(t, "GET", v1+monitorChangeset+"?_expected=0", "").body, "changes")
		if len(e) != 1 || changesNumber(t, e[0]["last_modified"]) != last {
			t.Errorf("monitor changeset on %s lists %v; want main/c at %d", v1, e, last)
		}
	}
}

// putRecords creates records <prefix>-n0, -n1… of main/c through v1,
// each PUT after the previous one's answer, n of them or until until
// (when not zero), counting those acknowledged in writes.
func putRecords(t *testing.T, v1, prefix string, n int, until time.Time, writes *atomic.Int64) {
	for i := 0; i < n && (until.IsZero() || time.Now().Before(until)); i++ {
		id := fmt.Sprintf("%s-n%d", prefix, i)
		r := do(t, "PUT", v1+"/buckets/main/collections/c/records/"+id, `{"data":{}}`, basic("alice"))
		if r.status != 201 {
			t.Errorf("PUT %s: %d %s", id, r.status, r.body)
			return
		}
		writes.Add(1)
	}
}

// followAll starts records _since, changeset _since and _changes
// longpoll followers of main/c on each instance; stop ends them, after
// one more poll each, and returns them.
func followAll(t *testing.T, v1s ...string) (stop func() []*follower) {
	done := make(chan struct{})
	var followers sync.WaitGroup
	var results []*follower
	for _, v1 := range v1s {
		for _, kind := range []string{"records", "changeset", "longpoll"} {
			f := &follower{t: t, v1: v1, kind: kind, ids: map[string]int{}}
			results = append(results, f)
			followers.Go(func() { f.run(done) })
		}
	}
	return func() []*follower {
		close(done)
		followers.Wait()
		return results
	}
}

// expectEachOnce fails unless every follower saw want record ids, each
// once.
func expectEachOnce(t *testing.T, results []*follower, want int) {
	t.Helper()
	for _, f := range results {
		misses, dups := want-len(f.ids), 0
		for _, n := range f.ids {
			if n != 1 {
				dups++
			}
		}
		t.Logf("%s follower on %s: %d seen, %d missed, %d seen twice", f.kind, f.v1, len(f.ids), misses, dups)
		if misses != 0 || dups != 0 {
			t.Errorf("%s follower on %s missed %d writes and saw %d twice", f.kind, f.v1, misses, dups)
		}
	}
}

// follower reads the changes of main/c one way until done, then once
// more, counting each record id it is given.
type follower struct {
	t        *testing.T
	v1, kind string
	ids      map[string]int
	// outage lets the follower meet a storage outage: a 503 with
	// Retry-After is counted in refused and the poll is tried again.
	outage  bool
	refused int
	cut     int
}

func (f *follower) run(done chan struct{}) {
	since := "0"
	for final := false; ; {
		select {
		case <-done:
			final = true
		default:
		}
		next, err := f.poll(since)
		if err != nil {
			f.t.Errorf("%s follower on %s: %v", f.kind, f.v1, err)
			return
		}
		if final && next == since {
			return
		}
		since = next
		if f.kind != "longpoll" {
			time.Sleep(5 * time.Millisecond)
		}
	}
}

// poll reads the changes after since and returns the next since.
func (f *follower) poll(since string) (string, error) {
	coll := f.v1 + "/buckets/main/collections/c"
	var url string
	switch f.kind {
	case "records":
		url = coll + "/records?_sort=last_modified&_since=" + since
	case "changeset":
		url = coll + "/changeset?_expected=0&_since=" + since
	default:
		url = coll + "/_changes?feed=longpoll&timeout=500&since=" + since
	}
	r, err := tryDo("GET", url, "", basic("alice"))
	if err != nil && f.outage && f.kind == "longpoll" {
		// A longpoll whose 200 and opening went out before the outage
		// cannot turn into a 503: its body ends short, and the client
		// asks again from where it stood.
		f.cut++
		time.Sleep(50 * time.Millisecond)
		return since, nil
	}
	if err != nil {
		return "", err
	}
	if f.outage && r.status == 503 && r.header.Get("Retry-After") != "" {
		f.refused++
		time.Sleep(50 * time.Millisecond)
		return since, nil
	}
	if r.status != 200 {
		return "", fmt.Errorf("GET %s: %d %s", url, r.status, r.body)
	}
	var page struct {
		Data    []changeRow `json:"data"`
		Changes []changeRow `json:"changes"`
		Results []struct {
			ID string `json:"id"`
		} `json:"results"`
		LastSeq string `json:"last_seq"`
	}
	if err := json.Unmarshal([]byte(r.body), &page); err != nil {
		if f.outage && f.kind == "longpoll" && strings.HasPrefix(r.body, "{\"results\":[") {
			// The same cut, seen by the client as a clean end: a parked
			// longpoll answers on its own connection, without chunked
			// framing, so the close ends the body where it stood.
			f.cut++
			time.Sleep(50 * time.Millisecond)
			return since, nil
		}
		return "", fmt.Errorf("GET %s: %v in %s", url, err, r.body)
	}
	if f.kind == "longpoll" {
		for _, row := range page.Results {
			f.ids[row.ID]++
		}
		return page.LastSeq, nil
	}
	next, _ := strconv.ParseInt(since, 10, 64)
	for _, row := range append(page.Data, page.Changes...) {
		f.ids[row.ID]++
		next = max(next, row.LastModified)
	}
	return strconv.FormatInt(next, 10), nil
}

// changeRow is a record in a list or a changeset.
type changeRow struct {
	ID           string `json:"id"`
	LastModified int64  `json:"last_modified"`
}

// TestPostgresConnectionsLost: when PostgreSQL drops every connection of
// both instances (as a server restart does), they reconnect by themselves:
// writes through A succeed again and a longpoll on B wakes on them, which
// takes B's listener back.
func TestPostgresConnectionsLost(t *testing.T) {
	app := fmt.Sprintf("cgtest_%d", time.Now().UnixNano())
	dsn := pgtest.Schema(t, "pool_max_conns=8", "application_name="+app)
	sa := testserver.Start(t, fmt.Sprintf(postgresCaddyfile, dsn))
	sb := testserver.Start(t, fmt.Sprintf(postgresCaddyfile, dsn))
	a, b := sa.URL()+"/v1", sb.URL()+"/v1"
	do(t, "PUT", a+"/buckets/main", `{"permissions":{"read":["system.Everyone"]}}`, basic("alice")).expectStatus(t, 201)
	do(t, "PUT", a+"/buckets/main/collections/c", "{}", basic("alice")).expectStatus(t, 201)
	feedsPut(t, a, "c", "before")

	db := pgxConnect(t, pgtest.DSN())
	var killed int
	if err := db.QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE application_name LIKE $1`, app+"/%").Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed < 2 {
		t.Fatalf("terminated %d connections; want both listeners at least", killed)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp := openFeed(t, "GET", b+"/buckets/main/collections/c/_changes?feed=longpoll&since=now&timeout=1000", "")
		time.Sleep(50 * time.Millisecond)
		id := fmt.Sprint("after-", time.Now().UnixNano())
		lm := feedsPut(t, a, "c", id)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(body), fmt.Sprintf(`{"seq":"%d","id":%q,`, lm, id)) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("B's longpoll never woke on A's writes after the connections were dropped; last answer %q", body)
		}
	}
}

// pgxConnect opens a plain connection, closed when the test ends.
func pgxConnect(t *testing.T, dsn string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return conn
}
