package ratelimit

import (
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisConfig says how to reach the Redis server of a Redis store.
type RedisConfig struct {
	// Address is host:port, or a redis:// or rediss:// URL (whose user,
	// password and database the other fields then override when set).
	Address  string
	Username string
	Password string
	DB       int
	// Timeout bounds dialing, reading and writing (default 250ms): a
	// limiter must not hold requests long on a sick Redis.
	Timeout time.Duration
}

// NewRedisClient opens a client tuned for a limiter: one dial attempt and
// one retry per command, so that an unreachable server fails a request
// within the timeout, and reconnection on the next request once it is
// back. (go-redis also stops dialing after repeated failures and probes
// the server once a second, so an outage costs each request no dial.)
func NewRedisClient(cfg RedisConfig) (*redis.Client, error) {
	opts := &redis.Options{Addr: cfg.Address}
	if strings.Contains(cfg.Address, "://") {
		var err error
		if opts, err = redis.ParseURL(cfg.Address); err != nil {
			return nil, fmt.Errorf("parsing redis URL: %w", err)
		}
	}
	if cfg.Username != "" {
		opts.Username = cfg.Username
	}
	if cfg.Password != "" {
		opts.Password = cfg.Password
	}
	if cfg.DB != 0 {
		opts.DB = cfg.DB
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 250 * time.Millisecond
	}
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = timeout, timeout, timeout
	opts.DialerRetries = 1
	opts.MaxRetries = 1
	opts.MinRetryBackoff, opts.MaxRetryBackoff = time.Millisecond, 10*time.Millisecond
	// CLIENT SETINFO on every new connection is a round trip a limiter
	// does not need, and older servers refuse it.
	opts.DisableIdentity = true
	return redis.NewClient(opts), nil
}
