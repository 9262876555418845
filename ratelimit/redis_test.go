package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/changegate/changegate/internal/testserver"
)

// TestRedisSharedBudget: two stores with their own connections (two
// changegate instances) draw from one budget per key.
func TestRedisSharedBudget(t *testing.T) {
	c1 := testRedis(t)
	c2 := redis.NewClient(&redis.Options{Addr: redisAddr(), DisableIdentity: true})
	defer c2.Close()
	prefix := testPrefix(t, c1)
	a, b := NewRedis(c1, prefix, nil), NewRedis(c2, prefix, nil)
	hit := Hit{"api:*:0:shared", Limit{Events: 4, Window: time.Hour}}
	for i, s := range []Store{a, b, a, b} {
		if d := take(t, s, hit); !d.Allowed || d.States[0].Remaining != int64(3-i) {
			t.Fatalf("request %d: %+v", i+1, d)
		}
	}
	if take(t, a, hit).Allowed || take(t, b, hit).Allowed {
		t.Fatal("the 5th request passed on one of the instances")
	}
}

// TestRedisServerClock: without a clock the script reads Redis' TIME; the
// decision carries that time and the key expires when its state would be
// a fresh key's.
func TestRedisServerClock(t *testing.T) {
	c := testRedis(t)
	prefix := testPrefix(t, c)
	s := NewRedis(c, prefix, nil)
	d := take(t, s, Hit{"z:*:0:a", Limit{Events: 10, Window: 10 * time.Second}})
	if skew := time.Since(d.Now); skew < -time.Minute || skew > time.Minute {
		t.Fatalf("decision time %s is not the server's", d.Now)
	}
	if !d.Allowed || d.States[0].Remaining != 9 || d.States[0].Reset != time.Second {
		t.Fatalf("decision: %+v", d)
	}
	ctx := context.Background()
	raw, err := c.Get(ctx, prefix+"z:*:0:a").Result()
	if err != nil {
		t.Fatal(err)
	}
	if tat, err := strconv.ParseInt(raw, 10, 64); err != nil || tat != d.Now.UnixMicro()+1_000_000 {
		t.Fatalf("stored TAT %q, want %d", raw, d.Now.UnixMicro()+1_000_000)
	}
	if ttl := c.PTTL(ctx, prefix+"z:*:0:a").Val(); ttl <= 0 || ttl > time.Second {
		t.Fatalf("TTL %s, want at most 1s", ttl)
	}
}

// TestRedisLongKeyHashed: a key longer than maxRedisKey is stored under
// its SHA-256, so a huge header cannot make a huge Redis key.
func TestRedisLongKeyHashed(t *testing.T) {
	c := testRedis(t)
	prefix := testPrefix(t, c)
	s := NewRedis(c, prefix, nil)
	long := "z:*:0:" + strings.Repeat("x", 10_000)
	take(t, s, Hit{long, Limit{Events: 1, Window: time.Second}})
	keys := c.Keys(context.Background(), prefix+"*").Val()
	if len(keys) != 1 || !strings.HasPrefix(keys[0], prefix+"sha256:") || len(keys[0]) != len(prefix)+7+64 {
		t.Fatalf("keys %q", keys)
	}
	if take(t, s, Hit{long, Limit{Events: 1, Window: time.Second}}).Allowed {
		t.Fatal("the hashed key lost its state")
	}
}

// TestRedisUnreachable: with nothing listening, Take fails at once with
// an error that names what it was doing.
func TestRedisUnreachable(t *testing.T) {
	c := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", testserver.FreePort(t)), DialerRetries: 1, MaxRetries: -1})
	defer c.Close()
	s := NewRedis(c, "x:", nil)
	start := time.Now()
	err := s.Take(context.Background(), []Hit{{"z:*:0:a", Limit{Events: 1, Window: time.Second}}}, new(Decision))
	if err == nil || !strings.Contains(err.Error(), "running the rate limit script on redis") {
		t.Fatalf("err = %v", err)
	}
	if took := time.Since(start); took > time.Second {
		t.Fatalf("failing took %s", took)
	}
}
