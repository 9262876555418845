package caddymodule

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/changegate/changegate/docstore"
	"github.com/changegate/changegate/docstore/postgres"
)

func init() {
	caddy.RegisterModule(PostgresStorage{})
}

// postgresOpenTimeout bounds connecting and checking the schema at start.
const postgresOpenTimeout = 30 * time.Second

// PostgresStorage is the PostgreSQL engine (docstore.storage.postgres), in
// the layout of Kinto's PostgreSQL backends, shareable by several
// changegate instances and by Kinto.
type PostgresStorage struct{}

// CaddyModule returns the Caddy module information.
func (PostgresStorage) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  storageNamespace + ".postgres",
		New: func() caddy.Module { return new(PostgresStorage) },
	}
}

// Locate requires a DSN.
func (PostgresStorage) Locate(dsn string) (string, error) {
	if strings.TrimSpace(dsn) == "" {
		return "", errors.New("a DSN is required, e.g. postgres://user@host:5432/db")
	}
	return dsn, nil
}

// Open connects, creating or checking Kinto's schema.
func (PostgresStorage) Open(dsn string) (docstore.Engine, error) {
	ctx, cancel := context.WithTimeout(context.Background(), postgresOpenTimeout)
	defer cancel()
	return postgres.Open(ctx, dsn, postgres.Options{})
}

// Describe hides the password of a URL DSN; a keyword DSN, which may
// hold one anywhere, is not shown.
func (PostgresStorage) Describe(dsn string) string {
	if u, err := url.Parse(dsn); err == nil && u.Scheme != "" {
		return u.Redacted()
	}
	return "(keyword DSN)"
}

var _ StorageEngine = PostgresStorage{}
