// Package enginetest is the conformance suite of docstore.Engine: every
// engine runs it from its own tests, so that the layers above can rely on
// the same behaviour whichever engine they get.
package enginetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/changegate/changegate/docstore"
)

// Run runs the suite. open must return a new, empty engine for each call
// and arrange its closing with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) docstore.Engine) {
	RunWith(t, open, Options{})
}

// Options tells the suite what an engine cannot store.
type Options struct {
	// DistinctTimestamps: the engine refuses two objects of one list with
	// the same last_modified, and timestamps far from the present (Kinto's
	// PostgreSQL schema has a unique index on them and TIMESTAMP columns).
	// The Store never writes either. Cases built on ties and on the int64
	// extremes are skipped; the engine's own tests cover its order.
	DistinctTimestamps bool
}

// tiedCases are the cases whose fixtures hold tied or extreme timestamps.
var tiedCases = map[string]bool{
	"ScanOrder": true, "ScanSince": true, "ScanStop": true, "ScanAscending": true, "ScanBare": true,
}

// RunWith runs the suite for an engine with the limits opts describes.
func RunWith(t *testing.T, open func(t *testing.T) docstore.Engine, opts Options) {
	cases := []struct {
		name string
		test func(*harness)
	}{
		{"GetPut", testGetPut},
		{"Replace", testReplace},
		{"Tombstones", testTombstones},
		{"Generations", testGenerations},
		{"SetIsolation", testSetIsolation},
		{"ScanOrder", testScanOrder},
		{"ScanSince", testScanSince},
		{"ScanStop", testScanStop},
		{"ScanWrites", testScanWrites},
		{"ScanAscending", testScanAscending},
		{"ScanBare", testScanBare},
		{"Timestamps", testTimestamps},
		{"TimestampsWrites", testTimestampsWrites},
		{"DeleteTree", testDeleteTree},
		{"DeleteTreeLeaf", testDeleteTreeLeaf},
		{"Rollback", testRollback},
		{"RollbackPanic", testRollbackPanic},
		{"ReadOnly", testReadOnly},
		{"CanceledContext", testCanceledContext},
		{"ConcurrentPuts", testConcurrentPuts},
		{"ConcurrentIncrements", testConcurrentIncrements},
		{"NoAliasing", testNoAliasing},
		{"DataOutlivesTx", testDataOutlivesTx},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if opts.DistinctTimestamps && tiedCases[c.name] {
				t.Skip("the engine stores no tied or extreme timestamps")
			}
			c.test(&harness{T: t, e: open(t), open: open, opts: opts})
		})
	}
}

// harness wraps an engine with helpers that fail the test on error.
type harness struct {
	*testing.T
	e    docstore.Engine
	open func(*testing.T) docstore.Engine
	opts Options
}

// fresh returns a harness on another new engine, for reference states.
func (h *harness) fresh() *harness {
	return &harness{T: h.T, e: h.open(h.T), open: h.open, opts: h.opts}
}

// Parents and kinds the cases use.
const (
	bucketsURI = ""
	bucketB    = "/buckets/b"
	collC      = "/buckets/b/collections/c"
	kindB      = docstore.KindBucket
	kindC      = docstore.KindCollection
	kindG      = docstore.KindGroup
	kindR      = docstore.KindRecord
)

func (h *harness) update(fn func(docstore.Tx) error) {
	h.Helper()
	if err := h.e.Update(context.Background(), fn); err != nil {
		h.Fatalf("Update: %v", err)
	}
}

func (h *harness) view(fn func(docstore.Tx) error) {
	h.Helper()
	if err := h.e.View(context.Background(), fn); err != nil {
		h.Fatalf("View: %v", err)
	}
}

// put stores objs in one transaction.
func (h *harness) put(parent, kind string, objs ...*docstore.Object) {
	h.Helper()
	h.update(func(tx docstore.Tx) error {
		for _, o := range objs {
			if err := tx.Put(parent, kind, o); err != nil {
				return err
			}
		}
		return nil
	})
}

// get returns Tx.Get's result in its own transaction.
func (h *harness) get(parent, kind, id string) (obj *docstore.Object, err error) {
	h.Helper()
	h.view(func(tx docstore.Tx) error {
		obj, err = tx.Get(parent, kind, id)
		return nil
	})
	return obj, err
}

// mustGet returns the live object or fails.
func (h *harness) mustGet(parent, kind, id string) *docstore.Object {
	h.Helper()
	obj, err := h.get(parent, kind, id)
	if err != nil {
		h.Fatalf("Get(%q, %q, %q): %v", parent, kind, id, err)
	}
	return obj
}

// assertNotFound checks that Get reports ErrNotFound.
func (h *harness) assertNotFound(parent, kind, id string) {
	h.Helper()
	if obj, err := h.get(parent, kind, id); !errors.Is(err, docstore.ErrNotFound) {
		h.Fatalf("Get(%q, %q, %q) = %+v, %v; want ErrNotFound", parent, kind, id, obj, err)
	}
}

// scan returns every object Scan yields.
func (h *harness) scan(parent, kind string, opts docstore.ScanOptions) []*docstore.Object {
	h.Helper()
	var objs []*docstore.Object
	h.view(func(tx docstore.Tx) error {
		objs = nil
		return tx.Scan(parent, kind, opts, func(o *docstore.Object) (bool, error) {
			objs = append(objs, o)
			return true, nil
		})
	})
	return objs
}

// count returns Tx.Count.
func (h *harness) count(parent, kind string) int {
	h.Helper()
	var n int
	h.view(func(tx docstore.Tx) (err error) {
		n, err = tx.Count(parent, kind)
		return err
	})
	return n
}

// assertScan checks the ids and last_modified values a scan yields, in
// order, each want entry being "id@lm".
func (h *harness) assertScan(parent, kind string, opts docstore.ScanOptions, want ...string) {
	h.Helper()
	got := keys(h.scan(parent, kind, opts))
	if !slices.Equal(got, want) {
		h.Fatalf("Scan(%q, %q, %+v) = %q; want %q", parent, kind, opts, got, want)
	}
}

// keys renders objects as "id@lm", with a "~" prefix for tombstones.
func keys(objs []*docstore.Object) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		k := fmt.Sprintf("%s@%d", o.ID, o.LastModified)
		if o.Deleted {
			k = "~" + k
		}
		out = append(out, k)
	}
	return out
}

// assertCount checks Tx.Count.
func (h *harness) assertCount(parent, kind string, want int) {
	h.Helper()
	if got := h.count(parent, kind); got != want {
		h.Fatalf("Count(%q, %q) = %d; want %d", parent, kind, got, want)
	}
}

// obj returns a live object whose data and permissions derive from its id
// and lm, so that a stale version is told apart from the current one.
func obj(id string, lm int64) *docstore.Object {
	return &docstore.Object{
		ID:           id,
		LastModified: lm,
		Data:         json.RawMessage(fmt.Sprintf(`{"id":%q, "last_modified":%d,"title":"v%d été"}`, id, lm, lm)),
		Permissions:  docstore.Permissions{"write": {"account:" + id}, "read": {"system.Everyone", fmt.Sprint(lm)}},
	}
}

// tomb returns a tombstone.
func tomb(id string, lm int64) *docstore.Object {
	return &docstore.Object{ID: id, LastModified: lm, Deleted: true}
}

// assertObject checks got field by field against want, treating nil and
// empty data, permissions or principal lists as equal.
func assertObject(t testing.TB, got, want *docstore.Object) {
	t.Helper()
	if got == nil {
		t.Fatalf("got nil object; want %s", describe(want))
	}
	if !sameObject(got, want) {
		t.Fatalf("got object %s; want %s", describe(got), describe(want))
	}
}

func sameObject(a, b *docstore.Object) bool {
	return a.ID == b.ID && a.LastModified == b.LastModified && a.Deleted == b.Deleted &&
		bytes.Equal(a.Data, b.Data) && samePermissions(a.Permissions, b.Permissions)
}

func samePermissions(a, b docstore.Permissions) bool {
	if len(a) != len(b) {
		return false
	}
	for name, pa := range a {
		pb, ok := b[name]
		if !ok || !slices.Equal(pa, pb) {
			return false
		}
	}
	return true
}

// describe renders an object for failure messages.
func describe(o *docstore.Object) string {
	if o == nil {
		return "<nil>"
	}
	perms, _ := json.Marshal(o.Permissions)
	return fmt.Sprintf("{id=%q lm=%d deleted=%t data=%s perms=%s}", o.ID, o.LastModified, o.Deleted, o.Data, perms)
}

// set names the objects of one (parent, kind).
type set struct{ parent, kind string }

// dump renders everything stored in sets (tombstones included) and every
// timestamp of kinds, so that two states compare as strings.
func (h *harness) dump(sets []set, kinds []string) string {
	h.Helper()
	var b strings.Builder
	h.view(func(tx docstore.Tx) error {
		b.Reset()
		for _, s := range sets {
			n, err := tx.Count(s.parent, s.kind)
			if err != nil {
				return err
			}
			fmt.Fprintf(&b, "set %q %s count=%d\n", s.parent, s.kind, n)
			err = tx.Scan(s.parent, s.kind, docstore.ScanOptions{IncludeDeleted: true}, func(o *docstore.Object) (bool, error) {
				fmt.Fprintf(&b, "  %s\n", describe(o))
				return true, nil
			})
			if err != nil {
				return err
			}
		}
		for _, kind := range kinds {
			var lines []string
			err := tx.Timestamps(kind, func(parent string, ts int64) error {
				lines = append(lines, fmt.Sprintf("ts %s %q=%d\n", kind, parent, ts))
				return nil
			})
			if err != nil {
				return err
			}
			slices.Sort(lines)
			b.WriteString(strings.Join(lines, ""))
		}
		return nil
	})
	return b.String()
}
