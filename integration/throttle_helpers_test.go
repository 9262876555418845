package integration

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/changegate/changegate/internal/testserver"
)

// throttleServer is a Caddyfile of one site on the test port; %s is the site's
// body.
const throttleServer = `{
	admin localhost:{admin}
	http_port {port}
	auto_https off
	persist_config off
}
:{port} {
%s
}
`

// throttleSite returns the Caddyfile of one site with the given body.
func throttleSite(body string) string { return fmt.Sprintf(throttleServer, body) }

// throttled returns a site with throttle (the given block body) in front
// of the Kinto API on /v1 (docstore) and of a plain `respond` elsewhere.
func throttled(body string) string {
	return throttleSite(`	throttle {
` + body + `
	}
	handle /v1/* {
		docstore {
			storage bolt {dir}/data.db
			userid_hmac_secret test-secret-of-16-bytes
			insecure_allow_all
		}
	}
	handle {
		respond "hello"
	}`)
}

// Kinto's and the problem-details refusal bodies.
const (
	kintoTooMany       = `{"code":429,"errno":117,"error":"Too Many Requests","message":"Client has sent too many requests"}`
	kintoUnavailable   = `{"code":503,"errno":201,"error":"Service Unavailable","message":"Service temporary unavailable due to overloading or maintenance, please retry later."}`
	problemUnavailable = `{"type":"about:blank","title":"Service Unavailable","status":503,"detail":"Rate limits cannot be checked right now."}`
)

// problemTooMany is the problem-details refusal naming the violated zones.
func problemTooMany(zones ...string) string {
	return `{"type":"https://iana.org/assignments/http-problem-types#quota-exceeded","title":"Request cannot be satisfied as assigned quota has been exceeded","status":429,"violated-policies":["` +
		strings.Join(zones, `","`) + `"]}`
}

// expectLimit checks the X-RateLimit-* fields, with Reset (epoch seconds)
// between ceil(before+reset) and ceil(after+reset), before and after
// being taken around the request.
func (r result) expectLimit(t testing.TB, limit, remaining int, before, after time.Time, reset time.Duration) result {
	t.Helper()
	r.expectHeader(t, "X-RateLimit-Limit", strconv.Itoa(limit))
	r.expectHeader(t, "X-RateLimit-Remaining", strconv.Itoa(remaining))
	got, err := strconv.ParseInt(r.header.Get("X-RateLimit-Reset"), 10, 64)
	lo, hi := ceilUnix(before.Add(reset)), ceilUnix(after.Add(reset))
	if err != nil || got < lo || got > hi {
		t.Fatalf("X-RateLimit-Reset = %q, want an epoch second in [%d, %d]", r.header.Get("X-RateLimit-Reset"), lo, hi)
	}
	return r
}

func ceilUnix(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// expectNoLimit checks that no rate limit field is present.
func (r result) expectNoLimit(t testing.TB) result {
	t.Helper()
	for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "RateLimit", "RateLimit-Policy", "Retry-After"} {
		r.expectHeader(t, h, "")
	}
	return r
}

// timedDo sends a request and returns it with the times around it.
func timedDo(t testing.TB, method, url string, headers ...string) (result, time.Time, time.Time) {
	t.Helper()
	before := time.Now()
	r := do(t, method, url, "", headers...)
	return r, before, time.Now()
}

// concurrentGets sends n concurrent GETs and counts the answers by status.
func concurrentGets(t testing.TB, url string, n int, headers ...string) map[int]int {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	counts := map[int]int{}
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			r, err := tryDo("GET", url, "", headers...)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				t.Error(err)
				return
			}
			counts[r.status]++
		})
	}
	close(start)
	wg.Wait()
	return counts
}

// needRedis returns the test Redis address (CHANGEGATE_REDIS_ADDR,
// default 127.0.0.1:6379), skipping the test when it is unreachable, or
// failing it on CI.
func needRedis(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("CHANGEGATE_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	if err := redisPing(addr); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("redis %s unreachable (set CHANGEGATE_REDIS_ADDR): %v", addr, err)
		}
		t.Skipf("redis %s unreachable (set CHANGEGATE_REDIS_ADDR): %v", addr, err)
	}
	return addr
}

// redisPing sends PING over RESP and expects +PONG.
func redisPing(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// redisPrefix is a key prefix of the test's own, so that parallel runs
// sharing one Redis never share budgets; the test's keys are deleted when
// it ends.
func redisPrefix(t testing.TB, addr string) string {
	prefix := fmt.Sprintf("changegate-test:%s:%d:", strings.ReplaceAll(t.Name(), "/", "."), time.Now().UnixNano())
	t.Cleanup(func() {
		c := redis.NewClient(&redis.Options{Addr: addr, DisableIdentity: true})
		defer c.Close()
		ctx := context.Background()
		if keys, err := c.Keys(ctx, prefix+"*").Result(); err == nil && len(keys) > 0 {
			c.Del(ctx, keys...)
		}
	})
	return prefix
}

// privateRedis is a redis-server process of the test's own, without
// persistence, that the test may stop and start again on the same port.
type privateRedis struct {
	t    testing.TB
	bin  string
	dir  string
	Port int
	cmd  *exec.Cmd
}

// startPrivateRedis starts a private Redis, skipping the test when
// redis-server is not installed (failing it on CI).
func startPrivateRedis(t testing.TB) *privateRedis {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("redis-server is not installed: %v", err)
		}
		t.Skipf("redis-server is not installed: %v", err)
	}
	p := &privateRedis{t: t, bin: bin, dir: t.TempDir(), Port: testserver.FreePort(t)}
	p.Start()
	t.Cleanup(p.Stop)
	return p
}

// Addr is host:port.
func (p *privateRedis) Addr() string { return fmt.Sprintf("127.0.0.1:%d", p.Port) }

// Start runs the server and waits until it answers PING.
func (p *privateRedis) Start() {
	p.t.Helper()
	p.cmd = exec.Command(p.bin, "--port", strconv.Itoa(p.Port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", p.dir)
	if err := p.cmd.Start(); err != nil {
		p.t.Fatalf("starting redis-server: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for redisPing(p.Addr()) != nil {
		if ctx.Err() != nil {
			p.t.Fatalf("redis-server on port %d did not answer within 10s", p.Port)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop kills the server (SIGKILL, as a crash would) and waits for it.
func (p *privateRedis) Stop() {
	if p.cmd == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	_ = p.cmd.Wait()
	p.cmd = nil
}

// retryUntil retries check until it returns true, for up to 10s.
func retryUntil(t testing.TB, what string, check func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !check() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// adminMetric reads one sample of the server's Prometheus metrics (admin
// endpoint), "" when absent.
func adminMetric(t testing.TB, s *testserver.Server, sample string) string {
	t.Helper()
	r := do(t, "GET", fmt.Sprintf("http://localhost:%d/metrics", s.AdminPort), "")
	for line := range strings.Lines(r.body) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), sample+" "); ok {
			return v
		}
	}
	return ""
}
