package ratelimit

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// epoch is the fake clocks' start: a whole second, so that header values
// are easy to check.
var epoch = time.Unix(1_700_000_000, 0)

// fakeClock is a Clock that only moves when told to.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: epoch} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// redisAddr is the test Redis: CHANGEGATE_REDIS_ADDR, default
// 127.0.0.1:6379.
func redisAddr() string {
	if a := os.Getenv("CHANGEGATE_REDIS_ADDR"); a != "" {
		return a
	}
	return "127.0.0.1:6379"
}

// testRedis connects to the test Redis, skipping the test when it is
// unreachable, or failing it on CI.
func testRedis(t testing.TB) *redis.Client {
	t.Helper()
	addr := redisAddr()
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, DisableIdentity: true})
	t.Cleanup(func() { _ = c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.Ping(ctx).Err(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("redis %s unreachable (set CHANGEGATE_REDIS_ADDR): %v", addr, err)
		}
		t.Skipf("redis %s unreachable (set CHANGEGATE_REDIS_ADDR): %v", addr, err)
	}
	return c
}

// testPrefix is a Redis key prefix of the test's own, so that parallel
// runs never share keys; the keys are deleted when the test ends.
func testPrefix(t testing.TB, c *redis.Client) string {
	t.Helper()
	prefix := fmt.Sprintf("changegate-test:%s:%d:", t.Name(), time.Now().UnixNano())
	t.Cleanup(func() {
		ctx := context.Background()
		keys, _ := c.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			c.Del(ctx, keys...)
		}
	})
	return prefix
}

// storeKind builds a fresh store of one kind on a fake clock.
type storeKind struct {
	name string
	new  func(t *testing.T, clock Clock) Store
}

// storeKinds are the stores every behaviour test runs against; the Redis
// one skips (or fails on CI) when Redis is unreachable.
var storeKinds = []storeKind{
	{"memory", func(_ *testing.T, clock Clock) Store { return NewMemory(1000, clock) }},
	{"redis", func(t *testing.T, clock Clock) Store {
		c := testRedis(t)
		return NewRedis(c, testPrefix(t, c), clock)
	}},
}

// eachStore runs f once per store kind, as subtests.
func eachStore(t *testing.T, f func(t *testing.T, s Store, clock *fakeClock)) {
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) {
			clock := newFakeClock()
			f(t, k.new(t, clock), clock)
		})
	}
}

// take decides one request and fails the test on a store error.
func take(t testing.TB, s Store, hits ...Hit) Decision {
	t.Helper()
	var d Decision
	if err := s.Take(context.Background(), hits, &d); err != nil {
		t.Fatal(err)
	}
	return d
}
