package ratelimit

import (
	"context"
	"fmt"
)

// Ping asks Redis whether it holds the rate limit script: one round trip
// that works through the autopipeliner too, for health checks.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.client.ScriptExists(ctx, gcraScript.Hash()).Err(); err != nil {
		return fmt.Errorf("pinging redis: %w", err)
	}
	return nil
}
