package caddymodule

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/changegate/changegate/docstore/bolt"
)

func init() {
	storageSubcommands = append(storageSubcommands, backupCommand)
}

func backupCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "backup [--address <admin>] [--config <path> [--adapter <name>]] [--storage <path>] [--force] <file>",
		Short: "Copies a running server's bolt storage to a file",
		Long: `
Asks a running changegate, through its admin API (GET /changegate/backup),
for a consistent copy of its bolt storage, taken in one read transaction
while it keeps serving, and writes it to <file>. Every write the server
acknowledged before the copy began is in it; the time it began is printed.

The copy is written beside <file>, checked (bbolt's page check and
changegate's layout), then renamed into place, so <file> is either the
whole good copy or untouched. An existing <file> is kept unless --force.

The admin address is --address, else the one in --config, else
localhost:2019. With several docstore storages open, name the one to copy
with --storage <path> (the path as in the Caddyfile).

To restore: stop the server, put the copy at the storage path (mode 0600,
owned by the server's user), start the server.
`,
		Args: cobra.ExactArgs(1),
		RunE: caddycmd.WrapCommandFuncForCobra(cmdBackup),
	}
	cmd.Flags().String("address", "", "Admin API address of the running server")
	cmd.Flags().StringP("config", "c", "", "Config file whose admin address to use")
	cmd.Flags().StringP("adapter", "a", "", "Adapter of the config file")
	cmd.Flags().String("storage", "", "Storage path to copy when the server has several")
	cmd.Flags().Bool("force", false, "Replace <file> if it exists")
	return cmd
}

func cmdBackup(fl caddycmd.Flags) (int, error) {
	target := fl.Arg(0)
	if _, err := os.Stat(target); err == nil && !fl.Bool("force") {
		return exitFailure, fmt.Errorf("%s exists: choose another file or use --force", target)
	}
	addr, err := caddycmd.DetermineAdminAPIAddress(fl.String("address"), nil, fl.String("config"), fl.String("adapter"))
	if err != nil {
		return exitFailure, fmt.Errorf("finding the admin address: %v", err)
	}
	uri := "/changegate/backup"
	if s := fl.String("storage"); s != "" {
		abs, err := filepath.Abs(s)
		if err != nil {
			return exitFailure, err
		}
		uri += "?storage=" + url.QueryEscape(abs)
	}
	resp, err := caddycmd.AdminAPIRequest(addr, "GET", uri, nil, nil)
	if err != nil {
		return exitFailure, fmt.Errorf("asking %s for a backup: %v", addr, err)
	}
	defer resp.Body.Close()
	n, err := writeVerified(target, resp.Body, resp.ContentLength)
	if err != nil {
		return exitFailure, err
	}
	fmt.Printf("backup written to %s: %d bytes, snapshot of %s\n", target, n, resp.Header.Get(SnapshotTimeHeader))
	return 0, nil
}

// exitFailure is the exit status of a failed command (caddycmd's
// ExitCodeFailedStartup is 1 too).
const exitFailure = 1

// writeVerified copies body (of the announced size) to a file beside
// target, syncs and verifies it, then renames it to target.
func writeVerified(target string, body io.Reader, size int64) (int64, error) {
	dir := filepath.Dir(target)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(target)+".partial-*")
	if err != nil {
		return 0, fmt.Errorf("creating the backup file: %v", err)
	}
	defer os.Remove(tmp.Name())
	n, err := io.Copy(tmp, body)
	if err == nil && size >= 0 && n != size {
		err = fmt.Errorf("got %d of %d bytes (did the server stop?)", n, size)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return n, fmt.Errorf("receiving the backup: %v", err)
	}
	if err := bolt.Verify(tmp.Name()); err != nil {
		return n, fmt.Errorf("the backup failed its check: %v", err)
	}
	if err := os.Rename(tmp.Name(), target); err != nil {
		return n, fmt.Errorf("moving the backup into place: %v", err)
	}
	return n, syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("syncing %s: %v", dir, err)
	}
	return nil
}
