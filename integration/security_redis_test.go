package integration

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/changegate/changegate/internal/testserver"
)

// silentRedis is a TCP server that accepts connections and never
// answers: a hung Redis, or a black-holed route.
func silentRedis(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			go func() { _, _ = io.Copy(io.Discard, c) }()
		}
	}()
	t.Cleanup(func() {
		l.Close()
		mu.Lock()
		defer mu.Unlock()
		for _, c := range conns {
			c.Close()
		}
	})
	return l.Addr().String()
}

// redisStore is a throttle block body of one zone on the Redis at addr,
// with a 200ms timeout and the failure mode given.
func redisStore(addr, mode string) string {
	return fmt.Sprintf(`		zone api {
			events 100
			window 1m
		}
		store redis %s {
			timeout 200ms
		}
		%s`, addr, mode)
}

// TestThrottleRedisHung: a Redis that accepts connections but never
// answers costs one request the timeout (and its retry), then is taken
// as down for the probe interval: the requests that follow pass (fail
// open) at once instead of each waiting.
func TestThrottleRedisHung(t *testing.T) {
	addr := silentRedis(t)
	s := testserver.Start(t, throttled(redisStore(addr, "fail_open")))
	expectAll(t, "log", s.Log(), "rate limit store does not answer at start", "fail_open")
	hello := s.URL() + "/hello"

	time.Sleep(1100 * time.Millisecond) // past the probe interval of the start-up probe
	start := time.Now()
	do(t, "GET", hello, "").expect(t, 200, "hello").expectNoLimit(t)
	if probe := time.Since(start); probe < 150*time.Millisecond || probe > 2*time.Second {
		t.Fatalf("the request that probes the hung Redis took %s, want about 200-400ms", probe)
	}
	start = time.Now()
	for range 10 {
		do(t, "GET", hello, "").expect(t, 200, "hello").expectNoLimit(t)
	}
	if took := time.Since(start); took > 600*time.Millisecond {
		t.Fatalf("10 requests while Redis hangs took %s: each waited for Redis", took)
	}
}

// TestThrottleRedisStartProbe: at start an unreachable Redis is a
// warning with fail_open and a refusal to start with fail_closed, hung
// or refusing.
func TestThrottleRedisStartProbe(t *testing.T) {
	refused := fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t))
	for name, addr := range map[string]string{"refused": refused, "hung": silentRedis(t)} {
		t.Run(name, func(t *testing.T) {
			s := testserver.Start(t, throttled(redisStore(addr, "fail_open")))
			expectAll(t, "log", s.Log(), "rate limit store does not answer at start")
			do(t, "GET", s.URL()+"/hello", "").expect(t, 200, "hello").expectNoLimit(t)

			out := startFails(t, throttled(redisStore(addr, "fail_closed")))
			expectAll(t, "start-up error", out, "does not answer and fail_closed is set", "fail_open")
		})
	}
}

// TestThrottleRedisAddressChecked: a mistyped Redis address fails when
// the config is adapted, not at the first request.
func TestThrottleRedisAddressChecked(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "Caddyfile")
	cfg := strings.NewReplacer("{port}", fmt.Sprint(testserver.FreePort(t)), "{admin}", fmt.Sprint(testserver.FreePort(t)), "{dir}", dir).
		Replace(throttled(redisStore("redis//localhost:6379", "fail_open")))
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	bin := testserver.Binary(t) // built before the timeout starts
	for _, cmd := range []string{"adapt", "validate"} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		c := exec.CommandContext(ctx, bin, cmd, "--config", path, "--adapter", "caddyfile")
		c.Dir = dir
		out, err := c.CombinedOutput()
		cancel()
		if err == nil {
			t.Fatalf("%s accepted the address redis//localhost:6379:\n%s", cmd, out)
		}
		expectAll(t, cmd+" error", string(out), "store redis", "redis//localhost:6379", "want host:port or a redis:// URL")
	}
	// The same from JSON (no Caddyfile check): refused at provision.
	out := startFails(t, `{"admin":{"listen":"localhost:{admin}"},"apps":{"http":{"servers":{"s":{"listen":["127.0.0.1:{port}"],
		"routes":[{"handle":[{"handler":"throttle","zones":{"api":{"events":5,"window":60000000000}},
		"store":{"type":"redis","address":"redis//localhost:6379"}}]}]}}}}}`)
	expectAll(t, "start-up error", out, "throttle: store redis", "redis//localhost:6379", "want host:port or a redis:// URL")
}
