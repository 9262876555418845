package ratelimit

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
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
	if err := CheckRedisAddress(cfg.Address); err != nil {
		return nil, err
	}
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

// hostPattern is what a host name may hold (RFC 1123 labels), besides IP
// literals.
var hostPattern = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$`)

// CheckRedisAddress refuses an address that cannot name a Redis server:
// a mistyped URL ("redis//localhost:6379") would otherwise be taken as a
// host name and turn rate limiting off at the first request.
func CheckRedisAddress(addr string) error {
	if strings.Contains(addr, "://") {
		u, err := url.Parse(addr)
		if err != nil {
			return fmt.Errorf("redis address %q: %v", addr, err)
		}
		if u.Scheme != "redis" && u.Scheme != "rediss" {
			return fmt.Errorf("redis address %q: scheme %q, want redis:// or rediss://", addr, u.Scheme)
		}
		if _, err := redis.ParseURL(addr); err != nil {
			return fmt.Errorf("redis address %q: %v", addr, err)
		}
		return checkHostPort(addr, u.Host, true)
	}
	return checkHostPort(addr, addr, false)
}

// checkHostPort checks host:port; in a URL the port may be left out.
func checkHostPort(addr, hostport string, url bool) error {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil && url {
		host, port, err = hostport, "6379", nil
	}
	if err != nil {
		return fmt.Errorf("redis address %q: want host:port or a redis:// URL (%v)", addr, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("redis address %q: invalid port %q", addr, port)
	}
	if host == "" {
		return nil // ":6379" is the local host, as for net.Dial
	}
	if net.ParseIP(strings.Trim(host, "[]")) == nil && !hostPattern.MatchString(host) {
		return fmt.Errorf("redis address %q: invalid host %q; want host:port or a redis:// URL", addr, host)
	}
	return nil
}
