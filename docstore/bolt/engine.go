// Package bolt is a docstore.Engine on a single bbolt file.
//
// Writers share commits: concurrent Updates are grouped by bbolt's Batch
// into one transaction and one fsync, which is what lets a single file take
// thousands of durable writes per second.
package bolt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/changegate/changegate/docstore"
	"go.etcd.io/bbolt"
	bbolterrors "go.etcd.io/bbolt/errors"
)

// batchDelay is how long a batch waits for company before committing
// (bbolt's MaxBatchDelay). bbolt's default of 10ms caps a writer at 100
// commits/s and N concurrent writers at about N×100 writes/s. With
// simulated commit (fsync) times of 0.3, 2 and 8ms and 1 to 64 writers,
// 1ms was within 25% of the best delay tried (0.5 to 10ms) in every case,
// and 1.5 to 5 times as fast as 10ms.
const batchDelay = time.Millisecond

// DefaultTimeout is how long Open waits for another handle to release the
// file when Options.Timeout is zero.
const DefaultTimeout = 5 * time.Second

// ErrInUse is Open's answer when another process (or another Open in this
// one) holds the file: bbolt takes an exclusive flock, and only says
// "timeout" when it gives up waiting for it.
var ErrInUse = errors.New("in use by another process — is a changegate already running?")

// Options tunes Open.
type Options struct {
	// Timeout bounds the wait for the file lock held by another handle
	// (another process, or another Open in this one); zero means
	// DefaultTimeout. bbolt itself would wait forever.
	Timeout time.Duration
	// NoSync skips the fsync of every commit, so a crash can lose
	// acknowledged writes. For tests and benchmarks only.
	NoSync bool
	// ReadOnly opens an existing file for reading only (Update fails):
	// a format 1 file stays format 1, so a copy leaves its source as
	// an older changegate can still open it.
	ReadOnly bool
}

// Engine is a docstore.Engine on a bbolt file. It is safe for concurrent
// use; the Tx handed to Update and View callbacks is not, and must not be
// used after the callback returns.
type Engine struct {
	db   *bbolt.DB
	path string
	// upgradedFrom is the storage format Open upgraded the file from
	// (0: none).
	upgradedFrom uint64
}

// FormatUpgrade reports the storage formats Open upgraded the file from
// and to, so that the caller can log it; ok is false when the file
// already had this version's format (or was new).
func (e *Engine) FormatUpgrade() (from, to uint64, ok bool) {
	return e.upgradedFrom, formatVersion, e.upgradedFrom != 0
}

var _ docstore.Engine = (*Engine)(nil)

// Open opens (creating if needed) the bbolt file at path. Missing parent
// directories are created with mode 0700 and the file with mode 0600.
func Open(path string, opts Options) (*Engine, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("creating directory of bolt file %s: %w", path, err)
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout:  timeout,
		NoSync:   opts.NoSync,
		ReadOnly: opts.ReadOnly,
		// The map freelist stays fast when a large file is fragmented.
		FreelistType: bbolt.FreelistMapType,
	})
	if errors.Is(err, bbolterrors.ErrTimeout) {
		return nil, fmt.Errorf("opening bolt file %s: %w", path, ErrInUse)
	}
	if err != nil {
		return nil, fmt.Errorf("opening bolt file %s: %w", path, err)
	}
	e := &Engine{db: db, path: path}
	if opts.ReadOnly {
		err = db.View(checkLayout)
	} else {
		err = db.Update(func(btx *bbolt.Tx) error { return initLayout(btx, &e.upgradedFrom) })
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("initialising bolt file %s: %w", path, err)
	}
	db.MaxBatchDelay = batchDelay
	return e, nil
}

// Update runs fn in a read-write transaction and returns once it is
// committed (and fsynced unless Options.NoSync).
//
// fn goes through bbolt's Batch: Updates arriving within batchDelay of
// each other share one transaction and one fsync. Batch may run fn several
// times: when another fn of the batch fails, the batch is rolled back and
// retried without it, and the failing fn is re-run alone, its error then
// going to its caller only.
func (e *Engine) Update(ctx context.Context, fn func(docstore.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var fnErr error
	run := func(btx *bbolt.Tx) error {
		// A batched fn can start well after Update was called.
		fnErr = ctx.Err()
		if fnErr == nil {
			fnErr = runTx(btx, fn)
		}
		return fnErr
	}
	err := e.db.Batch(run)
	if err != nil && err != fnErr {
		return fmt.Errorf("committing bolt transaction: %w", err)
	}
	return err
}

// View runs fn in a read-only transaction on a consistent snapshot.
func (e *Engine) View(ctx context.Context, fn func(docstore.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var fnErr error
	err := e.db.View(func(btx *bbolt.Tx) error {
		fnErr = runTx(btx, fn)
		return fnErr
	})
	if err != nil && err != fnErr {
		return fmt.Errorf("starting bolt read transaction: %w", err)
	}
	return err
}

// Close waits for running transactions and closes the file.
func (e *Engine) Close() error {
	if err := e.db.Close(); err != nil {
		return fmt.Errorf("closing bolt file %s: %w", e.path, err)
	}
	return nil
}

// runTx wraps btx for fn and closes the wrapper when fn returns, so that a
// Tx kept by mistake fails instead of touching a finished bbolt transaction.
func runTx(btx *bbolt.Tx, fn func(docstore.Tx) error) error {
	t, err := newTx(btx)
	if err != nil {
		return err
	}
	defer t.close()
	return fn(t)
}
