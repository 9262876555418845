package postgres

import (
	"context"
	"testing"

	"github.com/changegate/changegate/docstore"
	"github.com/changegate/changegate/docstore/enginetest"
	"github.com/changegate/changegate/internal/pgtest"
)

// openTest opens an engine on a fresh schema.
func openTest(t testing.TB) (*Engine, string) {
	t.Helper()
	dsn := pgtest.Schema(t, "pool_max_conns=4")
	e, err := Open(context.Background(), dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, dsn
}

func TestEngine(t *testing.T) {
	enginetest.RunWith(t, func(t *testing.T) docstore.Engine {
		e, _ := openTest(t)
		return e
	}, enginetest.Options{DistinctTimestamps: true})
}
