package enginetest

import (
	"context"
	"errors"
	"maps"

	"github.com/changegate/changegate/docstore"
)

// timestampsOf returns Timestamps(kind) as a map.
func (h *harness) timestampsOf(kind string) map[string]int64 {
	h.Helper()
	got := map[string]int64{}
	h.view(func(tx docstore.Tx) error {
		clear(got)
		return tx.Timestamps(kind, func(parent string, ts int64) error {
			if _, dup := got[parent]; dup {
				h.Errorf("Timestamps(%q) yielded %q twice", kind, parent)
			}
			got[parent] = ts
			return nil
		})
	})
	return got
}

// assertTimestamps checks Timestamps(kind) against want.
func (h *harness) assertTimestamps(kind string, want map[string]int64) {
	h.Helper()
	if got := h.timestampsOf(kind); !maps.Equal(got, want) {
		h.Fatalf("Timestamps(%q) = %v; want %v", kind, got, want)
	}
}

// assertTimestamp checks Timestamp(parent, kind).
func (h *harness) assertTimestamp(parent, kind string, want int64, wantOK bool) {
	h.Helper()
	h.view(func(tx docstore.Tx) error {
		got, ok, err := tx.Timestamp(parent, kind)
		if err != nil || got != want || ok != wantOK {
			h.Fatalf("Timestamp(%q, %q) = %d, %t, %v; want %d, %t, nil", parent, kind, got, ok, err, want, wantOK)
		}
		return nil
	})
}

// setTimestamps stores timestamps in one transaction.
func (h *harness) setTimestamps(kind string, ts map[string]int64) {
	h.Helper()
	h.update(func(tx docstore.Tx) error {
		for parent, t := range ts {
			if err := tx.SetTimestamp(parent, kind, t); err != nil {
				return err
			}
		}
		return nil
	})
}

// testTimestamps: set, get, overwrite and list by kind.
func testTimestamps(h *harness) {
	h.assertTimestamp(collC, kindR, 0, false)
	h.setTimestamps(kindB, map[string]int64{bucketsURI: 50})
	h.setTimestamps(kindC, map[string]int64{bucketB: 100, bucketB + "b": 101})
	h.setTimestamps(kindG, map[string]int64{bucketB: 70})
	h.setTimestamps(kindR, map[string]int64{collC: 200, collC + "c": 300, "/buckets/a/collections/c": 0})
	h.setTimestamps(kindR, map[string]int64{collC: 250})

	h.assertTimestamp(bucketsURI, kindB, 50, true)
	h.assertTimestamp(bucketB, kindC, 100, true)
	h.assertTimestamp(bucketB, kindG, 70, true)
	h.assertTimestamp(collC, kindR, 250, true)
	h.assertTimestamp("/buckets/a/collections/c", kindR, 0, true)
	h.assertTimestamp(bucketB, kindR, 0, false)
	h.assertTimestamp(collC, kindC, 0, false)

	h.assertTimestamps(kindB, map[string]int64{bucketsURI: 50})
	h.assertTimestamps(kindC, map[string]int64{bucketB: 100, bucketB + "b": 101})
	h.assertTimestamps(kindG, map[string]int64{bucketB: 70})
	h.assertTimestamps(kindR, map[string]int64{collC: 250, collC + "c": 300, "/buckets/a/collections/c": 0})
	h.assertTimestamps("recor", map[string]int64{})
	h.assertTimestamps("records", map[string]int64{})

	stop := errors.New("stop")
	calls := 0
	err := h.e.View(context.Background(), func(tx docstore.Tx) error {
		return tx.Timestamps(kindR, func(string, int64) error {
			calls++
			return stop
		})
	})
	if !errors.Is(err, stop) || calls != 1 {
		h.Fatalf("Timestamps with failing fn: err %v after %d calls; want %v after 1", err, calls, stop)
	}
}

// testTimestampsWrites: fn may write timestamps, of the kind it lists and
// of another, and still sees each parent once.
func testTimestampsWrites(h *harness) {
	want := map[string]int64{}
	for i := range 20 {
		parent := bucketB + "/collections/c" + string(rune('a'+i))
		h.setTimestamps(kindR, map[string]int64{parent: int64(i)})
		want[parent] = int64(i) + 1000
	}
	h.update(func(tx docstore.Tx) error {
		// Writing first puts a B-tree engine's pages in their mutable form.
		if err := tx.SetTimestamp(bucketB, kindG, 1); err != nil {
			return err
		}
		return tx.Timestamps(kindR, func(parent string, ts int64) error {
			if ts >= 1000 {
				h.Errorf("Timestamps visited %q again (ts %d)", parent, ts)
			}
			if err := tx.SetTimestamp(parent, kindC, ts); err != nil {
				return err
			}
			return tx.SetTimestamp(parent, kindR, ts+1000)
		})
	})
	h.assertTimestamps(kindR, want)
	if got := h.timestampsOf(kindC); len(got) != len(want) {
		h.Fatalf("Timestamps(%q) holds %d parents; want %d", kindC, len(got), len(want))
	}
}
