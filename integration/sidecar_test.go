package integration

import (
	"fmt"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/changegate/changegate/internal/testserver"
)

// TestSidecarWriteThroughSidecar: a write that passes through the
// sidecar reaches its monitor at once (no poll), single writes and
// batches alike, and its changesets show the upstream's records; GET
// /v1/ lists the changes capability.
func TestSidecarWriteThroughSidecar(t *testing.T) {
	forEachUpstream(t, func(t *testing.T, env *sidecarEnv) {
		// The upstream's GET /v1/ lists the changes capability.
		caps := do(t, "GET", env.side+"/", "").expectStatus(t, 200).json(t)["capabilities"].(map[string]any)
		if got := fmt.Sprint(caps["changes"].(map[string]any)["collections"]); env.upstream != nil && got != "[/buckets/blocklists]" {
			t.Fatalf("changes capability lists %s", got)
		}

		ts := changesPost(t, env.side, certificates, `{"n":1}`)
		// The answer to the write taught the sidecar: no waiting.
		if m, _ := sidecarMonitor(t, env.side); m["blocklists/certificates"] != ts {
			t.Fatalf("monitor right after the write: %v, want blocklists/certificates at %d", m, ts)
		}

		first := do(t, "GET", env.side+certificates+"/changeset?_expected=1", "", basic("alice")).
			expectStatus(t, 200).expectHeader(t, "Cache-Status", "changegate; fwd=miss; stored")
		records := do(t, "GET", env.up+certificates+"/records", "", basic("alice")).expectStatus(t, 200)
		cs := first.json(t)
		if got := changesNumber(t, cs["timestamp"]); got != records.etag(t) {
			t.Fatalf("changeset timestamp %d, upstream records ETag %d", got, records.etag(t))
		}
		if got, want := changesJoin(changesList(t, first.body, "changes")), changesJoin(changesList(t, records.body, "data")); got != want {
			t.Fatalf("changeset changes %s\nupstream records %s", got, want)
		}
		meta := cs["metadata"].(map[string]any)
		if meta["id"] != "certificates" || meta["bucket"] != "blocklists" {
			t.Fatalf("metadata %v", meta)
		}
		do(t, "GET", env.side+certificates+"/changeset?_expected=1", "", basic("alice")).
			expect(t, 200, first.body).expectHeader(t, "Cache-Status", "changegate; hit")

		// A batch: a creation and a deletion, told by their answers.
		rid := changesList(t, records.body, "data")[0]
		id := strings.Split(strings.Split(string(rid), `"id":"`)[1], `"`)[0]
		batch := fmt.Sprintf(`{"requests":[
			{"method":"PUT","path":"%[1]s/records/r2","body":{"data":{"n":2}}},
			{"method":"DELETE","path":"%[1]s/records/%[2]s"}]}`, certificates, id)
		r := do(t, "POST", env.side+"/batch", batch, basic("alice")).expectStatus(t, 200)
		deleted := changesNumber(t, r.json(t)["responses"].([]any)[1].(map[string]any)["body"].(map[string]any)["data"].(map[string]any)["last_modified"])
		if m, _ := sidecarMonitor(t, env.side); m["blocklists/certificates"] != deleted {
			t.Fatalf("monitor right after the batch: %v, want %d", m, deleted)
		}
		since := do(t, "GET", fmt.Sprintf("%s%s/changeset?_expected=%d&_since=%d", env.side, certificates, deleted, ts), "", basic("alice")).expectStatus(t, 200)
		got := changesEntries(t, since.body, "changes")
		if len(got) != 2 || got[0]["id"] != id || got[0]["deleted"] != true || got[1]["id"] != "r2" {
			t.Fatalf("changes since %d: %s", ts, since.body)
		}
	})
}

// TestSidecarWriteStraightToUpstream: a write made straight to the
// upstream shows in the sidecar's monitor and changesets within about
// one poll interval.
func TestSidecarWriteStraightToUpstream(t *testing.T) {
	forEachUpstream(t, func(t *testing.T, env *sidecarEnv) {
		changesPost(t, env.side, certificates, `{"n":1}`)
		before := do(t, "GET", env.side+certificates+"/changeset?_expected=0", "", basic("alice")).expectStatus(t, 200)

		ts := changesPost(t, env.up, certificates, `{"n":2}`)
		took := sidecarEventually(t, env.side, 10*sidecarPoll, "a write straight to the upstream", func(m map[string]int64) bool {
			return m["blocklists/certificates"] == ts
		})
		t.Logf("seen after %v (poll interval %v)", took, sidecarPoll)

		after := do(t, "GET", env.side+certificates+"/changeset?_expected=0", "", basic("alice")).expectStatus(t, 200)
		if after.body == before.body || changesNumber(t, after.json(t)["timestamp"]) != ts || len(changesList(t, after.body, "changes")) != 2 {
			t.Fatalf("changeset after the upstream write: %s", after.body)
		}
	})
}

// TestSidecarBucketExpansion: a monitored bucket's collections are
// listed again periodically; collections of other buckets stay out, and
// a collection deleted upstream leaves the monitor.
func TestSidecarBucketExpansion(t *testing.T) {
	forEachUpstream(t, func(t *testing.T, env *sidecarEnv) {
		changesCreate(t, env.up, "blocklists", "addons")
		ts := changesPost(t, env.up, "/buckets/blocklists/collections/addons", `{"n":1}`)
		sidecarBucket(t, env.up, "other")
		changesCreate(t, env.up, "other", "stuff")
		changesPost(t, env.up, "/buckets/other/collections/stuff", `{"n":1}`)
		sidecarEventually(t, env.side, 10*sidecarPoll, "a new collection of a monitored bucket", func(m map[string]int64) bool {
			return m["blocklists/addons"] == ts
		})
		time.Sleep(3 * sidecarPoll)
		// Polling reads every collection's records, which gives an empty
		// one its timestamp, as any read does in Kinto.
		if m, _ := sidecarMonitor(t, env.side); len(m) != 2 || m["blocklists/certificates"] == 0 {
			t.Fatalf("monitor lists %v, want the collections of blocklists only", m)
		}

		do(t, "DELETE", env.up+"/buckets/blocklists/collections/addons", "", basic("alice")).expectStatus(t, 200)
		sidecarEventually(t, env.side, 10*sidecarPoll, "a collection deleted upstream", func(m map[string]int64) bool {
			_, listed := m["blocklists/addons"]
			return !listed
		})
	})
}

// TestSidecarPermissions: changesets need the upstream's read permission
// for the caller; a changeset cached for one client is never served to a
// client the upstream refuses, a permission granted upstream counts at
// once, and one revoked through the sidecar too.
func TestSidecarPermissions(t *testing.T) {
	forEachUpstream(t, func(t *testing.T, env *sidecarEnv) {
		changesPost(t, env.side, certificates, `{"n":1}`)
		url := env.side + certificates + "/changeset?_expected=0"
		ok := do(t, "GET", url, "", basic("alice")).expectStatus(t, 200)
		do(t, "GET", url, "", basic("alice")).expect(t, 200, ok.body).expectHeader(t, "Cache-Status", "changegate; hit")

		do(t, "GET", url, "").expect(t, 401, msg401)
		do(t, "GET", url, "", basic("bob")).expect(t, 403, msg403)
		// The upstream's own 404 (re-rendered compactly).
		nope := do(t, "GET", env.up+"/buckets/blocklists/collections/nope", "", basic("alice")).expectStatus(t, 404)
		side := do(t, "GET", env.side+"/buckets/blocklists/collections/nope/changeset?_expected=0", "", basic("alice")).expectStatus(t, 404)
		if !reflect.DeepEqual(side.json(t), nope.json(t)) {
			t.Fatalf("unknown collection: sidecar %s, upstream %s", side.body, nope.body)
		}

		grant := fmt.Sprintf(`{"permissions":{"read":[%q]}}`, sidecarPrincipal(t, env.up, "bob"))
		do(t, "PATCH", env.up+certificates, grant, basic("alice")).expectStatus(t, 200)
		do(t, "GET", url, "", basic("bob")).expectStatus(t, 200)
		do(t, "GET", url, "").expect(t, 401, msg401)

		// Revoked through the sidecar: the write makes it forget every
		// remembered yes at once (auth_cache_ttl does not apply).
		do(t, "PUT", env.side+certificates, `{"data":{},"permissions":{"read":[]}}`, basic("alice")).expectStatus(t, 200)
		do(t, "GET", url, "", basic("bob")).expect(t, 403, msg403)
		do(t, "GET", url, "", basic("alice")).expectStatus(t, 200)
	})
}

// TestSidecarUpstreamRestart: while the upstream is away the monitor
// keeps its last timestamps and says so, changesets answer 503 errno 201
// with Retry-After; once it is back, its writes show again.
func TestSidecarUpstreamRestart(t *testing.T) {
	forEachUpstream(t, func(t *testing.T, env *sidecarEnv) {
		if env.upstream == nil {
			t.Skip("the reference Kinto is not ours to stop")
		}
		ts := changesPost(t, env.side, certificates, `{"n":1}`)
		// A feed open across the outage resumes when the upstream is back.
		feed := make(chan result, 1)
		go func() {
			r, err := tryDo("GET", fmt.Sprintf("%s%s/_changes?feed=longpoll&timeout=20000&since=%d", env.side, certificates, ts), "", basic("alice"))
			if err != nil {
				r = result{status: -1, body: err.Error()}
			}
			feed <- r
		}()
		time.Sleep(100 * time.Millisecond)
		env.upstream.Stop()

		deadline := time.Now().Add(10 * sidecarPoll)
		for {
			m, r := sidecarMonitor(t, env.side)
			if h := r.header.Get("Changegate-Upstream"); strings.HasPrefix(h, "unavailable; since=") {
				if _, err := time.Parse(time.RFC3339, strings.TrimPrefix(h, "unavailable; since=")); err != nil {
					t.Fatalf("Changegate-Upstream: %q", h)
				}
				if m["blocklists/certificates"] != ts {
					t.Fatalf("monitor while the upstream is away: %v, want the last known %d", m, ts)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("no Changegate-Upstream header while the upstream is away: %v", r.header)
			}
			time.Sleep(20 * time.Millisecond)
		}
		r := do(t, "GET", env.side+certificates+"/changeset?_expected=0", "", basic("alice"))
		r.expect(t, 503, `{"code":503,"errno":201,"error":"Service Unavailable","message":"Service temporary unavailable due to overloading or maintenance, please retry later."}`)
		if ra := r.header.Get("Retry-After"); ra == "" || ra == "0" {
			t.Fatalf("Retry-After %q", ra)
		}

		env.upstream.Restart()
		ts2 := changesPost(t, env.up, certificates, `{"n":2}`)
		sidecarEventually(t, env.side, 3*time.Second, "a write after the upstream came back", func(m map[string]int64) bool {
			return m["blocklists/certificates"] == ts2
		})
		_, r = sidecarMonitor(t, env.side)
		r.expectHeader(t, "Changegate-Upstream", "")
		r = (<-feed).expectStatus(t, 200)
		if got := r.json(t)["last_seq"]; got != fmt.Sprint(ts2) {
			t.Fatalf("feed open across the outage: %s, want last_seq %d", r.body, ts2)
		}
	})
}

// TestSidecarReload: a reload with other upstream settings starts a new
// sidecar state from the upstream (the old one stops), and writes through
// the sidecar keep reaching its monitor at once.
func TestSidecarReload(t *testing.T) {
	forEachUpstream(t, func(t *testing.T, env *sidecarEnv) {
		ts := changesPost(t, env.side, certificates, `{"n":1}`)
		cfg := fmt.Sprintf(sidecarCaddyfile, env.up, strings.TrimPrefix(strings.TrimSuffix(env.up, "/v1"), "http://"), "")
		if err := env.sidecar.Reload(strings.Replace(cfg, "poll_interval 200ms", "poll_interval 300ms", 1)); err != nil {
			t.Fatal(err)
		}
		if m, _ := sidecarMonitor(t, env.side); m["blocklists/certificates"] != ts {
			t.Fatalf("monitor after the reload: %v, want %d", m, ts)
		}
		ts = changesPost(t, env.side, certificates, `{"n":2}`)
		if m, _ := sidecarMonitor(t, env.side); m["blocklists/certificates"] != ts {
			t.Fatalf("monitor right after a write after the reload: %v, want %d", m, ts)
		}
		if strings.Contains(env.sidecar.Log(), `"level":"error"`) {
			t.Fatalf("errors in the sidecar's log:\n%s", env.sidecar.Log())
		}
	})
}

// TestSidecarUpstreamEndOfService: once the upstream answers Kinto's
// end-of-service 410, the sidecar's changes endpoints pass through to it
// too and answer its 410 (errno 202), as every other route does.
func TestSidecarUpstreamEndOfService(t *testing.T) {
	up := testserver.Start(t, strings.Replace(sidecarUpstreamCaddyfile, "flush_endpoint", "eos 2000-01-01", 1))
	u, err := url.Parse(up.URL())
	if err != nil {
		t.Fatal(err)
	}
	side := testserver.Start(t, fmt.Sprintf(sidecarCaddyfile, up.URL()+"/v1", u.Host, ""))
	gone := `{"code":410,"errno":202,"error":"Gone","message":"The service you are trying to connect no longer exists at this location."}`
	for _, path := range []string{
		"/v1/buckets/monitor/collections/changes/changeset?_expected=0",
		"/v1/buckets/blocklists/collections/certificates/changeset?_expected=0",
		"/v1/buckets/blocklists/collections/certificates/_changes",
	} {
		var r result
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if r = do(t, "GET", side.URL()+path, ""); r.status == 410 {
				break
			}
		}
		r.expect(t, 410, gone).expectHeader(t, "Alert", `{"code":"hard-eol","message":"","url":"https://kinto.readthedocs.io/"}`)
	}
}
