package docstore

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestRunHealthChecks(t *testing.T) {
	ok := func(context.Context) error { return nil }
	fail := func(context.Context) error { return errors.New("down") }
	got := RunHealthChecks(context.Background(), []HealthCheck{
		{"storage", ok}, {"redis", ok}, {"redis", fail}, {"upstream", ok},
	})
	if len(got) != 3 || !got["storage"] || got["redis"] || !got["upstream"] {
		t.Fatalf("got %v: a name is true only when all its checks pass", got)
	}
	if Healthy(got) {
		t.Fatal("Healthy with a false key")
	}
}

// A check that outlives the caller's deadline counts as failed, and the
// others still answer.
func TestRunHealthChecksDeadline(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	got := RunHealthChecks(ctx, []HealthCheck{
		{"slow", func(ctx context.Context) error { <-ctx.Done(); time.Sleep(time.Second); return nil }},
		{"storage", func(context.Context) error { return nil }},
	})
	if took := time.Since(start); took > 500*time.Millisecond {
		t.Fatalf("took %s past the deadline", took)
	}
	if got["slow"] || !got["storage"] {
		t.Fatalf("got %v", got)
	}
}
