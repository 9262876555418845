package ratelimit

import (
	"context"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

//go:embed gcra.lua
var gcraSource string

// gcraScript runs as EVALSHA, falling back to EVAL when the server does
// not know it (first use, or after a Redis restart).
var gcraScript = redis.NewScript(gcraSource)

// maxRedisKey bounds the length of a Redis key; longer keys (a key
// template can take request headers) are replaced by their SHA-256.
const maxRedisKey = 200

// Redis is the store several changegate instances share: one Lua script
// per request decides every limit of the request atomically, in one round
// trip, with the Redis server's clock.
//
// It is written for one Redis server (or a primary with replicas): the
// keys of one request may live in different hash slots, which Redis
// Cluster refuses in one script.
type Redis struct {
	client redis.Scripter
	prefix string
	clock  Clock
	down   breaker
}

// NewRedis returns a store that keeps its keys in client under prefix.
// With a nil clock the script reads the time from Redis (TIME), which
// every instance then agrees on; tests pass a fake clock.
func NewRedis(client redis.Scripter, prefix string, clock Clock) *Redis {
	return &Redis{client: client, prefix: prefix, clock: clock}
}

// Take implements Store. While the server is taken as down (see
// RedisProbeInterval) it fails at once with ErrStoreDown.
func (r *Redis) Take(ctx context.Context, hits []Hit, d *Decision) error {
	ok, probe := r.down.enter(time.Now())
	if !ok {
		return ErrStoreDown
	}
	err := r.take(ctx, hits, d)
	r.down.leave(ctx, probe, err, time.Now())
	return err
}

// Probe checks that the server answers, loading the rate limit script on
// the way, so that a start-up can tell an unreachable Redis at once.
func (r *Redis) Probe(ctx context.Context) error {
	err := gcraScript.Load(ctx, r.client).Err()
	r.down.leave(ctx, false, err, time.Now())
	if err != nil {
		return fmt.Errorf("loading the rate limit script on redis: %w", err)
	}
	return nil
}

// take runs the script.
func (r *Redis) take(ctx context.Context, hits []Hit, d *Decision) error {
	keys := make([]string, len(hits))
	args := make([]any, 1+2*len(hits))
	args[0] = ""
	if r.clock != nil {
		args[0] = strconv.FormatInt(r.clock.Now().UnixMicro(), 10)
	}
	for i, h := range hits {
		keys[i] = r.key(h.Key)
		args[1+2*i] = h.Limit.interval()
		args[2+2*i] = h.Limit.window()
	}
	out, err := gcraScript.Run(ctx, r.client, keys, args...).Int64Slice()
	if err != nil {
		return fmt.Errorf("running the rate limit script on redis: %w", err)
	}
	if len(out) != 2+len(hits) {
		return fmt.Errorf("rate limit script returned %d values, want %d", len(out), 2+len(hits))
	}
	decide(d, out[1], out[2:], hits, out[0] == 1)
	return nil
}

// key is the Redis key of a limiter key.
func (r *Redis) key(k string) string {
	if len(k) > maxRedisKey {
		sum := sha256.Sum256([]byte(k))
		k = "sha256:" + hex.EncodeToString(sum[:])
	}
	return r.prefix + k
}
