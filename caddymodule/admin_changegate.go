package caddymodule

import (
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/changegate/changegate/docstore"
)

func init() {
	caddy.RegisterModule(AdminAPI{})
}

// AdminAPI adds changegate's endpoints to Caddy's admin API
// (admin.api.changegate; Caddy loads every admin.api module on its own):
//
//	GET /changegate/backup[?storage=<path>]  a consistent copy of a running bolt store
//
// The admin API listens on localhost (or a unix socket) and can already
// rewrite the whole config, so a copy of the data adds no reach; an admin
// listener opened to a network exposes the data with it.
type AdminAPI struct{}

// CaddyModule returns the Caddy module information.
func (AdminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.changegate",
		New: func() caddy.Module { return new(AdminAPI) },
	}
}

// Routes lists the endpoints.
func (AdminAPI) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: "/changegate/backup", Handler: caddy.AdminHandlerFunc(serveBackup)}}
}

// SnapshotTimeHeader carries when a backup's snapshot was taken
// (RFC 3339, nanoseconds): every write acknowledged before it is in the
// copy.
const SnapshotTimeHeader = "Changegate-Snapshot-Time"

// serveBackup streams a snapshot of one open store.
func serveBackup(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: errors.New("method not allowed: use GET")}
	}
	path, engine, err := backupTarget(r.URL.Query().Get("storage"))
	if err != nil {
		return err
	}
	snap, ok := engine.(docstore.Snapshotter)
	if !ok {
		return caddy.APIError{HTTPStatus: http.StatusNotImplemented, Err: fmt.Errorf("the storage %s has no online backup: use the database's own tools", path)}
	}
	_, err = snap.Snapshot(w, func(size int64) {
		h := w.Header()
		h.Set("Content-Type", "application/octet-stream")
		h.Set("Content-Length", strconv.FormatInt(size, 10))
		h.Set("Content-Disposition", `attachment; filename="`+filepath.Base(path)+`"`)
		h.Set(SnapshotTimeHeader, time.Now().UTC().Format(time.RFC3339Nano))
		w.WriteHeader(http.StatusOK)
	})
	if err != nil {
		// The status is sent: the client sees a short body, and the
		// backup command refuses it.
		return fmt.Errorf("backing up %s: %v", path, err)
	}
	return nil
}

// backupTarget finds the open store to copy: the one at path, or the
// only one when path is empty.
func backupTarget(path string) (string, docstore.Engine, error) {
	if path != "" {
		abs, err := filepath.Abs(path)
		if err != nil {
			return "", nil, caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: fmt.Errorf("resolving storage path %s: %v", path, err)}
		}
		path = abs
	}
	var paths []string
	var found docstore.Engine
	var foundPath string
	stores.Range(func(key, value any) bool {
		_, p, _ := strings.Cut(key.(string), ":")
		paths = append(paths, p)
		if path == "" || p == path {
			found, foundPath = value.(*openStore).engine, p
		}
		return true
	})
	switch {
	case len(paths) == 0:
		return "", nil, caddy.APIError{HTTPStatus: http.StatusNotFound, Err: errors.New("no docstore storage is open in this server")}
	case path == "" && len(paths) > 1:
		return "", nil, caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: fmt.Errorf("several storages are open (%s): name one with storage=<path>", strings.Join(paths, ", "))}
	case found == nil:
		return "", nil, caddy.APIError{HTTPStatus: http.StatusNotFound, Err: fmt.Errorf("no open storage at %s (open: %s)", path, strings.Join(paths, ", "))}
	}
	return foundPath, found, nil
}

// Interface guards
var _ caddy.AdminRouter = AdminAPI{}
