package docstore_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/changegate/changegate/docstore"
	"github.com/changegate/changegate/docstore/memory"
)

// txCountingEngine wraps the memory engine and counts its transactions;
// cheap says whether it reports CheapRollback.
type txCountingEngine struct {
	*memory.Engine
	cheap         bool
	views, update int
}

func (e *txCountingEngine) View(ctx context.Context, fn func(docstore.Tx) error) error {
	e.views++
	return e.Engine.View(ctx, fn)
}

func (e *txCountingEngine) Update(ctx context.Context, fn func(docstore.Tx) error) error {
	e.update++
	return e.Engine.Update(ctx, fn)
}

func (e *txCountingEngine) CheapRollback() bool { return e.cheap }

// TestWriteDryRunOnlyWhereRollbackCosts checks that a creation runs first
// as a read only on engines without CheapRollback, and once, in Update,
// on engines with it.
func TestWriteDryRunOnlyWhereRollbackCosts(t *testing.T) {
	for _, tc := range []struct {
		cheap bool
		views int
	}{{false, 1}, {true, 0}} {
		engine := &txCountingEngine{Engine: memory.New(), cheap: tc.cheap}
		h, _ := newAPI(t, engine)
		mustStatus(t, call(t, h, http.MethodPut, "/v1/buckets/b", ""), http.StatusCreated)
		engine.views, engine.update = 0, 0
		mustStatus(t, call(t, h, http.MethodPut, "/v1/buckets/b/collections/c", ""), http.StatusCreated)
		if engine.views != tc.views || engine.update != 1 {
			t.Errorf("cheap rollback %v: %d views and %d updates for a creation, want %d and 1",
				tc.cheap, engine.views, engine.update, tc.views)
		}
	}
}
