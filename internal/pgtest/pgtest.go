// Package pgtest gives tests an empty PostgreSQL schema of their own.
//
// The server is CHANGEGATE_POSTGRES_DSN (default
// postgres://postgres@127.0.0.1:5432/test). When it cannot be reached the
// test is skipped with a message, or fails when the environment sets CI.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DSN is the server the tests use.
func DSN() string {
	if dsn := os.Getenv("CHANGEGATE_POSTGRES_DSN"); dsn != "" {
		return dsn
	}
	return "postgres://postgres@127.0.0.1:5432/test"
}

// Schema creates an empty schema, dropped when the test ends, and returns
// a DSN whose connections use it (search_path) with extra parameters
// ("pool_max_conns=4").
func Schema(t testing.TB, params ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, DSN())
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL at %s unreachable: %v", DSN(), err)
		}
		t.Skipf("PostgreSQL at %s unreachable (set CHANGEGATE_POSTGRES_DSN): %v", DSN(), err)
	}
	defer conn.Close(ctx)
	var b [6]byte
	rand.Read(b[:])
	schema := "cg_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if conn, err := pgx.Connect(ctx, DSN()); err == nil {
			conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
			conn.Close(ctx)
		}
	})
	return WithParams(DSN(), append([]string{"search_path=" + schema}, params...)...)
}

// WithParams appends key=value parameters to a URL DSN (as its query) or
// to a keyword DSN.
func WithParams(dsn string, params ...string) string {
	if !strings.Contains(dsn, "://") {
		return dsn + " " + strings.Join(params, " ")
	}
	q := make([]string, len(params))
	for i, p := range params {
		k, v, _ := strings.Cut(p, "=")
		q[i] = k + "=" + url.QueryEscape(v)
	}
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + strings.Join(q, "&")
}
