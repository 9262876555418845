package integration

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/changegate/changegate/internal/testserver"
)

// redisThrottle is a throttle block body on Redis: one zone of events per
// window, the store at addr with prefix, and extra options.
func redisThrottle(events int, window, addr, prefix, extra string) string {
	return fmt.Sprintf(`
		zone api {
			events %d
			window %s
		}
		store redis %s {
			prefix %s
			timeout 200ms
		}
		%s`, events, window, addr, prefix, extra)
}

// TestThrottleConcurrentRedis: 200 concurrent requests against a limit of
// 50 on Redis: exactly 50 pass.
func TestThrottleConcurrentRedis(t *testing.T) {
	addr := needRedis(t)
	s := testserver.Start(t, throttled(redisThrottle(50, "1h", addr, redisPrefix(t, addr), "")))
	if got := concurrentGets(t, s.URL()+"/hello", 200); got[200] != 50 || got[429] != 150 {
		t.Fatalf("statuses %v, want 50×200 and 150×429", got)
	}
}

// TestThrottleRedisWindow: the budget comes back after the window on
// Redis too (the script reads Redis' clock).
func TestThrottleRedisWindow(t *testing.T) {
	addr := needRedis(t)
	s := testserver.Start(t, throttled(redisThrottle(2, "2s", addr, redisPrefix(t, addr), "")))
	hello := s.URL() + "/hello"
	r, before, after := timedDo(t, "GET", hello)
	r.expect(t, 200, "hello").expectLimit(t, 2, 1, before, after, time.Second).
		expectHeader(t, "RateLimit", `"api";r=1;t=1`)
	do(t, "GET", hello, "").expect(t, 200, "hello").expectHeader(t, "X-RateLimit-Remaining", "0")
	do(t, "GET", hello, "").expect(t, 429, problemTooMany("api")).expectHeader(t, "Retry-After", "1")
	time.Sleep(2 * time.Second)
	do(t, "GET", hello, "").expect(t, 200, "hello").expectHeader(t, "X-RateLimit-Remaining", "1")
}

// TestThrottleTwoInstancesShareRedis: two changegate processes on one
// Redis (same prefix) draw from one budget per client.
func TestThrottleTwoInstancesShareRedis(t *testing.T) {
	addr := needRedis(t)
	cfg := throttled(redisThrottle(4, "1h", addr, redisPrefix(t, addr), ""))
	a, b := testserver.Start(t, cfg), testserver.Start(t, cfg)
	for i, s := range []*testserver.Server{a, b, a, b} {
		do(t, "GET", s.URL()+"/hello", "").expect(t, 200, "hello").
			expectHeader(t, "X-RateLimit-Remaining", fmt.Sprint(3-i))
	}
	do(t, "GET", a.URL()+"/hello", "").expect(t, 429, problemTooMany("api"))
	do(t, "GET", b.URL()+"/v1/", "").expect(t, 429, kintoTooMany)
}

// TestThrottleRedisOutage stops a private Redis mid-test and starts it
// again: fail_open lets requests through without headers, fail_closed
// answers 503 with Retry-After (Kinto's errno 201 under /v1); both log the
// outage once, count it, and recover without a restart.
func TestThrottleRedisOutage(t *testing.T) {
	for _, mode := range []string{"fail_open", "fail_closed"} {
		t.Run(mode, func(t *testing.T) {
			rd := startPrivateRedis(t)
			s := testserver.Start(t, throttled(redisThrottle(10, "1h", rd.Addr(), "cg:", mode)))
			hello := s.URL() + "/hello"
			do(t, "GET", hello, "").expect(t, 200, "hello").expectHeader(t, "X-RateLimit-Remaining", "9")
			do(t, "GET", hello, "").expect(t, 200, "hello").expectHeader(t, "X-RateLimit-Remaining", "8")

			rd.Stop()
			for range 3 {
				start := time.Now()
				if mode == "fail_open" {
					do(t, "GET", hello, "").expect(t, 200, "hello").expectNoLimit(t)
				} else {
					do(t, "GET", hello, "").expect(t, 503, problemUnavailable).
						expectHeader(t, "Retry-After", "3").
						expectHeader(t, "Content-Type", "application/problem+json")
					do(t, "GET", s.URL()+"/v1/", "").expect(t, 503, kintoUnavailable).expectHeader(t, "Retry-After", "3")
				}
				if took := time.Since(start); took > time.Second {
					t.Fatalf("a request during the outage took %s", took)
				}
			}

			rd.Start() // empty: no persistence, so budgets start afresh
			retryUntil(t, "limiting again after Redis came back", func() bool {
				r := do(t, "GET", hello, "")
				return r.status == 200 && r.header.Get("X-RateLimit-Remaining") != ""
			})
			do(t, "GET", hello, "").expect(t, 200, "hello").expectHeader(t, "X-RateLimit-Limit", "10")

			failed := fmt.Sprintf(`changegate_throttle_requests_total{result="failed_%s"}`, strings.TrimPrefix(mode, "fail_"))
			if got := adminMetric(t, s, failed); got == "" || got == "0" {
				t.Fatalf("%s = %q, want the outage counted", failed, got)
			}
			log := s.Log()
			if n := strings.Count(log, "rate limit store unreachable"); n != 1 {
				t.Fatalf("outage logged %d times, want once:\n%s", n, log)
			}
			if n := strings.Count(log, "rate limit store reachable again"); n != 1 {
				t.Fatalf("recovery logged %d times, want once:\n%s", n, log)
			}
		})
	}
}
