package caddymodule

import (
	"cmp"
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/redis/go-redis/v9"

	"github.com/changegate/changegate/ratelimit"
)

// ThrottleStore selects where the budgets live.
type ThrottleStore struct {
	// Type is "memory" (the default) or "redis".
	Type string `json:"type,omitempty"`
	// MaxKeys bounds the memory store. Default: 100000 keys, about 50
	// bytes each. The memory store is one per process, shared by every
	// throttle handler; its capacity is the largest MaxKeys among them.
	MaxKeys int `json:"max_keys,omitempty"`
	// Address is the Redis server: host:port, or a redis:// or rediss://
	// URL. Placeholders such as {env.REDIS_URL} are expanded.
	Address string `json:"address,omitempty"`
	// Username, Password and DB override those of the address.
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	DB       int    `json:"db,omitempty"`
	// Prefix goes in front of every Redis key. Default:
	// "changegate:throttle:".
	Prefix string `json:"prefix,omitempty"`
	// Timeout bounds dialing, reading and writing. Default: 250ms.
	Timeout caddy.Duration `json:"timeout,omitempty"`
	// Pipeline sends the scripts of concurrent requests to Redis in
	// shared writes (go-redis autopipelining, experimental upstream):
	// more throughput under load, a little more latency when idle.
	Pipeline bool `json:"pipeline,omitempty"`
}

// Store defaults.
const (
	defaultMaxKeys     = 100_000
	defaultRedisPrefix = "changegate:throttle:"
)

// name is how logs name the store (without credentials).
func (c ThrottleStore) name() string {
	if c.Type != "redis" {
		return "memory"
	}
	if u, err := url.Parse(c.Address); err == nil && u.Host != "" {
		return "redis " + u.Host
	}
	return "redis " + c.Address
}

// throttleStores holds the stores, shared by every config that uses the
// same one, so that budgets survive config reloads (the new config is
// provisioned before the old one is cleaned up) and Redis connections are
// reused.
var throttleStores = caddy.NewUsagePool()

// acquireThrottleStore returns the shared store for c and the function
// that releases this use of it.
func acquireThrottleStore(c ThrottleStore) (ratelimit.Store, func() error, error) {
	switch c.Type {
	case "", "memory":
		if c.Address != "" || c.Username != "" || c.Password != "" || c.DB != 0 || c.Prefix != "" || c.Timeout != 0 || c.Pipeline {
			return nil, nil, errors.New("throttle: address, username, password, db, prefix, timeout and pipeline are options of the redis store")
		}
		return acquireMemoryStore(cmp.Or(c.MaxKeys, defaultMaxKeys))
	case "redis":
		if c.MaxKeys != 0 {
			return nil, nil, errors.New("throttle: max_keys is an option of the memory store")
		}
		return acquireRedisStore(c)
	}
	return nil, nil, fmt.Errorf("throttle: unknown store %q (want memory or redis)", c.Type)
}

// sharedMemory is the process's memory store with the capacities its
// users asked for.
type sharedMemory struct {
	*ratelimit.Memory
	mu   sync.Mutex
	caps map[int]int // capacity asked for -> number of users
}

// Destruct lets the pool drop the store; it holds nothing to close.
func (*sharedMemory) Destruct() error { return nil }

// use counts a user's capacity in (delta 1) or out (delta -1) and sizes
// the store to the largest one left.
func (m *sharedMemory) use(maxKeys, delta int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.caps[maxKeys] += delta; m.caps[maxKeys] <= 0 {
		delete(m.caps, maxKeys)
	}
	if len(m.caps) > 0 {
		m.Resize(slices.Max(slices.Collect(maps.Keys(m.caps))))
	}
}

func acquireMemoryStore(maxKeys int) (ratelimit.Store, func() error, error) {
	if maxKeys < 1 {
		return nil, nil, fmt.Errorf("throttle: max_keys must be at least 1, got %d", maxKeys)
	}
	v, _, err := throttleStores.LoadOrNew("memory", func() (caddy.Destructor, error) {
		return &sharedMemory{Memory: ratelimit.NewMemory(maxKeys, ratelimit.SystemClock{}), caps: map[int]int{}}, nil
	})
	if err != nil {
		return nil, nil, err
	}
	m := v.(*sharedMemory)
	m.use(maxKeys, 1)
	return m, func() error {
		m.use(maxKeys, -1)
		_, err := throttleStores.Delete("memory")
		return err
	}, nil
}

// redisClient is a pooled Redis connection pool.
type redisClient struct{ *redis.Client }

// Destruct closes the connections once no config uses them.
func (c redisClient) Destruct() error { return c.Close() }

func acquireRedisStore(c ThrottleStore) (ratelimit.Store, func() error, error) {
	repl := caddy.NewReplacer()
	cfg := ratelimit.RedisConfig{
		Address:  repl.ReplaceAll(c.Address, ""),
		Username: repl.ReplaceAll(c.Username, ""),
		Password: repl.ReplaceAll(c.Password, ""),
		DB:       c.DB,
		Timeout:  time.Duration(c.Timeout),
	}
	if cfg.Address == "" {
		return nil, nil, errors.New("throttle: the redis store needs an address")
	}
	if err := ratelimit.CheckRedisAddress(cfg.Address); err != nil {
		return nil, nil, fmt.Errorf("throttle: store redis: %v", err)
	}
	key := fmt.Sprintf("redis\x00%s\x00%s\x00%s\x00%d\x00%s", cfg.Address, cfg.Username, cfg.Password, cfg.DB, cfg.Timeout)
	v, _, err := throttleStores.LoadOrNew(key, func() (caddy.Destructor, error) {
		client, err := ratelimit.NewRedisClient(cfg)
		return redisClient{client}, err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("throttle: connecting to redis %s: %v", c.name(), err)
	}
	release := func() error {
		_, err := throttleStores.Delete(key)
		return err
	}
	var scripter redis.Scripter = v.(redisClient).Client
	if c.Pipeline {
		// The client keeps one autopipeliner and closes it with itself.
		if scripter, err = v.(redisClient).AutoPipeline(); err != nil {
			_ = release()
			return nil, nil, fmt.Errorf("throttle: pipelining to redis %s: %v", c.name(), err)
		}
	}
	store := ratelimit.NewRedis(scripter, cmp.Or(c.Prefix, defaultRedisPrefix), nil)
	return store, release, nil
}
