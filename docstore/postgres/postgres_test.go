package postgres

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/changegate/changegate/docstore"
	"github.com/changegate/changegate/docstore/enginetest"
)

// testDSN is the database the tests use.
func testDSN() string {
	if dsn := os.Getenv("CHANGEGATE_POSTGRES_DSN"); dsn != "" {
		return dsn
	}
	return "postgres://postgres@127.0.0.1:5432/test"
}

// freshSchema creates an empty schema, dropped after the test, and returns
// a DSN whose connections use it.
func freshSchema(t testing.TB) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, testDSN())
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL at %s unreachable: %v", testDSN(), err)
		}
		t.Skipf("PostgreSQL at %s unreachable (set CHANGEGATE_POSTGRES_DSN): %v", testDSN(), err)
	}
	defer conn.Close(ctx)
	schema := "cg_test_" + randomName()
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, testDSN())
		if err == nil {
			conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			conn.Close(ctx)
		}
	})
	return withParams(testDSN(), "search_path="+schema, "pool_max_conns=4")
}

// withParams appends query parameters to a URL DSN, or key=value pairs to
// a keyword DSN.
func withParams(dsn string, params ...string) string {
	if strings.Contains(dsn, "://") {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		for i, p := range params {
			k, v, _ := strings.Cut(p, "=")
			params[i] = k + "=" + url.QueryEscape(v)
		}
		return dsn + sep + strings.Join(params, "&")
	}
	return dsn + " " + strings.Join(params, " ")
}

// openTest opens an engine on a fresh schema.
func openTest(t testing.TB) (*Engine, string) {
	t.Helper()
	dsn := freshSchema(t)
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
