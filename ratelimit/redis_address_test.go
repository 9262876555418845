package ratelimit

import "testing"

func TestCheckRedisAddress(t *testing.T) {
	good := []string{"localhost:6379", "127.0.0.1:6379", "[::1]:6379", "redis.internal.example:6380", ":6379",
		"redis://localhost:6379/0", "rediss://user:pw@cache.example:6380/2", "redis://localhost"}
	bad := []string{"redis//localhost:6379", "localhost", "localhost:redis", "localhost:0", "http://localhost:6379",
		"redis://local_host:6379", "redis:/localhost:6379", "redis://localhost:6379/x", "host name:6379"}
	for _, a := range good {
		if err := CheckRedisAddress(a); err != nil {
			t.Errorf("%s refused: %v", a, err)
		}
	}
	for _, a := range bad {
		if err := CheckRedisAddress(a); err == nil {
			t.Errorf("%s accepted", a)
		}
	}
}
