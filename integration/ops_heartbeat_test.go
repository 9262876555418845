package integration

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/changegate/changegate/internal/testserver"
)

// TestHeartbeatRedis: with a throttle zone on Redis, the docstore's
// heartbeat reports it: 200 with "redis":true while it answers, 503 with
// "redis":false while it is down, 200 again once it is back.
func TestHeartbeatRedis(t *testing.T) {
	rd := startPrivateRedis(t)
	s := testserver.Start(t, throttled(redisThrottle(1000, "1h", rd.Addr(), "cg:", "")))
	hb := s.URL() + "/v1/__heartbeat__"
	do(t, "GET", hb, "").expect(t, 200, `{"cache":true,"permission":true,"redis":true,"storage":true}`).
		expectHeader(t, "Content-Type", "application/json")

	rd.Stop()
	start := time.Now()
	do(t, "GET", hb, "").expect(t, 503, `{"cache":true,"permission":true,"redis":false,"storage":true}`)
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("the heartbeat took %s with Redis down", took)
	}
	do(t, "GET", s.URL()+"/v1/__lbheartbeat__", "").expect(t, 200, `{}`)

	rd.Start()
	retryUntil(t, "heartbeat healthy after Redis came back", func() bool {
		return do(t, "GET", hb, "").status == 200
	})
	do(t, "GET", hb, "").expect(t, 200, `{"cache":true,"permission":true,"redis":true,"storage":true}`)
}

// TestHeartbeatMemoryThrottle: a memory store is no dependency: no
// "redis" key.
func TestHeartbeatMemoryThrottle(t *testing.T) {
	s := testserver.Start(t, throttled(`zone api {
			events 100
			window 1m
		}`))
	do(t, "GET", s.URL()+"/v1/__heartbeat__", "").expect(t, 200, `{"cache":true,"permission":true,"storage":true}`)
}

// TestHeartbeatSidecarUpstream: a sidecar's heartbeat is its upstream's
// with "upstream" added: true while the upstream answers, false with 503
// once it is gone, true again when it is back.
func TestHeartbeatSidecarUpstream(t *testing.T) {
	up := testserver.Start(t, sidecarUpstreamCaddyfile)
	env := startChangesSidecar(t, up.URL()+"/v1", up)
	hb := env.side + "/__heartbeat__"
	do(t, "GET", hb, "").expect(t, 200, `{"cache":true,"permission":true,"storage":true,"upstream":true}`).
		expectHeader(t, "Content-Type", "application/json")
	r := do(t, "HEAD", hb, "")
	if r.status != 200 || r.body != "" {
		t.Fatalf("HEAD heartbeat: %d %q", r.status, r.body)
	}

	up.Kill()
	do(t, "GET", hb, "").expect(t, 503, `{"upstream":false}`)

	up.Restart()
	do(t, "GET", hb, "").expect(t, 200, `{"cache":true,"permission":true,"storage":true,"upstream":true}`)
}

// TestHeartbeatSidecarRedis: a sidecar with a throttle on Redis reports
// both.
func TestHeartbeatSidecarRedis(t *testing.T) {
	rd := startPrivateRedis(t)
	up := testserver.Start(t, sidecarUpstreamCaddyfile)
	side := testserver.Start(t, fmt.Sprintf(changesGlobal+`:{port} {
	throttle {
		%s
	}
	changes {
		resources /buckets/main
		upstream %s
	}
	reverse_proxy 127.0.0.1:%d
}
`, redisThrottle(1000, "1h", rd.Addr(), "cg:", ""), up.URL()+"/v1", up.Port))
	hb := side.URL() + "/v1/__heartbeat__"
	do(t, "GET", hb, "").expect(t, 200, `{"cache":true,"permission":true,"redis":true,"storage":true,"upstream":true}`)
	rd.Stop()
	do(t, "GET", hb, "").expect(t, 503, `{"cache":true,"permission":true,"redis":false,"storage":true,"upstream":true}`)
}

// TestHeartbeatSidecarUnhealthyUpstream: an upstream that answers its
// heartbeat 503 is "upstream":false, and its own keys say what failed.
func TestHeartbeatSidecarUnhealthyUpstream(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/v1/__heartbeat__", jsonAnswer(503, `{"storage":false,"permission":false,"cache":true,"note":"x"}`))
	api := httptest.NewServer(mux)
	t.Cleanup(api.Close)
	side := testserver.Start(t, fmt.Sprintf(changesGlobal+`:{port} {
	changes {
		upstream %s/v1
	}
	reverse_proxy %s
}
`, api.URL, strings.TrimPrefix(api.URL, "http://")))
	do(t, "GET", side.URL()+"/v1/__heartbeat__", "").
		expect(t, 503, `{"cache":true,"permission":false,"storage":false,"upstream":false}`)
}
