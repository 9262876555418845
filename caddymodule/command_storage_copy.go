package caddymodule

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/changegate/changegate/docstore"
)

func init() {
	storageSubcommands = append(storageSubcommands, newStorageCopyCommand)
}

// newStorageCopyCommand is `changegate docstore copy --from A --to B`.
func newStorageCopyCommand() *cobra.Command {
	var from, to string
	cmd := &cobra.Command{
		Use:   "copy --from <engine>:<location> --to <engine>:<location>",
		Short: "Copies every docstore object, tombstone, timestamp and permission between storages",
		Long: `Copies buckets, collections, groups and records, with their tombstones,
timestamps and permissions, and every list timestamp, from one storage to
another, then checks that the target holds as many objects and tombstones
in every list as the source. Objects already in the target are replaced,
so the copy can be run again. Stop the servers that use a bolt file first.

Locations: bolt:<path>, postgres:<dsn>, or a postgres:// URL as is.

Example:
  changegate docstore copy --from bolt:./data/changegate.db --to postgres://user@db:5432/kinto`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" || to == "" {
				return errors.New("both --from and --to are required")
			}
			return storageCopy(cmd.Context(), from, to, cmd.ErrOrStderr())
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "source storage, e.g. bolt:./data/changegate.db")
	cmd.Flags().StringVar(&to, "to", "", "target storage, e.g. postgres://user@host:5432/db")
	return cmd
}

// parseStorage reads <engine>:<location>; URLs of postgres are taken whole.
func parseStorage(s string) (StorageConfig, error) {
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		return StorageConfig{Engine: "postgres", Path: s}.withDefaults()
	}
	engine, location, ok := strings.Cut(s, ":")
	if !ok {
		return StorageConfig{}, fmt.Errorf("storage %q: want <engine>:<location>, e.g. bolt:./data/changegate.db", s)
	}
	return StorageConfig{Engine: engine, Path: location}.withDefaults()
}

// readOnlyOpener is an engine that can open its storage for reading
// only (bolt).
type readOnlyOpener interface {
	OpenReadOnly(location string) (docstore.Engine, error)
}

// openSource opens the storage copied from, read-only where the engine
// can, so that the copy leaves it as it was (in an older storage format
// too).
func openSource(src StorageConfig) (docstore.Engine, error) {
	if ro, ok := src.engine.(readOnlyOpener); ok {
		return ro.OpenReadOnly(src.Path)
	}
	return src.engine.Open(src.Path)
}

// storageCopy opens both storages and copies, reporting progress to w.
func storageCopy(ctx context.Context, from, to string, w io.Writer) error {
	if ctx == nil {
		ctx = context.Background()
	}
	src, err := parseStorage(from)
	if err != nil {
		return err
	}
	dst, err := parseStorage(to)
	if err != nil {
		return err
	}
	if src.key() == dst.key() {
		return errors.New("source and target are the same storage")
	}
	if src.Engine == "bolt" {
		// Opening a bolt file creates it: a mistyped source would copy
		// nothing and report success.
		if _, err := os.Stat(src.Path); err != nil {
			return fmt.Errorf("source: %v", err)
		}
	}
	se, err := openSource(src)
	if err != nil {
		return fmt.Errorf("opening %s: %v", src.describe(), err)
	}
	defer se.Close()
	de, err := dst.engine.Open(dst.Path)
	if err != nil {
		return fmt.Errorf("opening %s: %v", dst.describe(), err)
	}
	defer de.Close()
	start := time.Now()
	last := time.Time{}
	progress := func(n int) {
		if time.Since(last) >= 200*time.Millisecond {
			last = time.Now()
			fmt.Fprintf(w, "\rcopying: %d objects (%.0f/s)", n, float64(n)/time.Since(start).Seconds())
		}
	}
	c, err := docstore.Copy(ctx, se, de, progress)
	fmt.Fprintln(w)
	if err != nil {
		return fmt.Errorf("copying %s to %s: %v", src.describe(), dst.describe(), err)
	}
	fmt.Fprintf(w, "copied %d objects and %d tombstones in %d lists, and %d list timestamps, in %s; counts verified\n",
		c.Objects, c.Tombstones, c.Lists, c.Timestamps, time.Since(start).Round(time.Millisecond))
	return nil
}
