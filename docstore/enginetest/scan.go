package enginetest

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/changegate/changegate/docstore"
)

// scanFixture stores, in shuffled order and one transaction each, objects
// with tied and extreme last_modified values and ids that prefix one
// another. It returns them as assertScan wants them, newest first.
func scanFixture(h *harness) []string {
	objs := []*docstore.Object{
		obj("max", math.MaxInt64), obj("e", 7), obj("b", 7), tomb("t", 6), obj("c", 5),
		obj("aa", 5), obj("a", 5), obj("f", 3), obj("d", 1), obj("z", 0), obj("n", -2),
		obj("min", math.MinInt64),
	}
	want := keys(objs)
	rand.New(rand.NewPCG(1, 2)).Shuffle(len(objs), func(i, j int) { objs[i], objs[j] = objs[j], objs[i] })
	for _, o := range objs {
		h.put(collC, kindR, o)
	}
	return want
}

// without returns keys minus the tombstones.
func without(keys []string) []string {
	out := []string{}
	for _, k := range keys {
		if k[0] != '~' {
			out = append(out, k)
		}
	}
	return out
}

// testScanOrder: descending last_modified, ties by descending id.
func testScanOrder(h *harness) {
	want := scanFixture(h)
	h.assertScan(collC, kindR, docstore.ScanOptions{IncludeDeleted: true}, want...)
	h.assertScan(collC, kindR, docstore.ScanOptions{}, without(want)...)
	h.assertScan(collC, kindG, docstore.ScanOptions{IncludeDeleted: true})
}

// testScanSince: only objects strictly newer than a positive Since.
func testScanSince(h *harness) {
	want := scanFixture(h)
	all := docstore.ScanOptions{IncludeDeleted: true}
	for _, c := range []struct {
		since int64
		n     int
	}{
		{since: 7, n: 1}, {since: 6, n: 3}, {since: 5, n: 4}, {since: 4, n: 7},
		{since: 1, n: 8}, {since: 0, n: len(want)}, {since: -1, n: len(want)},
		{since: math.MinInt64, n: len(want)}, {since: math.MaxInt64 - 1, n: 1}, {since: math.MaxInt64},
	} {
		all.Since = c.since
		h.assertScan(collC, kindR, all, want[:c.n]...)
		h.assertScan(collC, kindR, docstore.ScanOptions{Since: c.since}, without(want[:c.n])...)
	}
}

// testScanStop: Scan stops at the first false or error from fn, and
// returns that error.
func testScanStop(h *harness) {
	want := without(scanFixture(h))
	for stopAt := 1; stopAt <= 3; stopAt++ {
		var seen []*docstore.Object
		h.view(func(tx docstore.Tx) error {
			seen = nil
			return tx.Scan(collC, kindR, docstore.ScanOptions{}, func(o *docstore.Object) (bool, error) {
				seen = append(seen, o)
				return len(seen) < stopAt, nil
			})
		})
		if got := keys(seen); !slices.Equal(got, want[:stopAt]) {
			h.Fatalf("Scan stopping after %d yielded %q; want %q", stopAt, got, want[:stopAt])
		}
	}

	stop := errors.New("stop")
	calls := 0
	err := h.e.View(context.Background(), func(tx docstore.Tx) error {
		return tx.Scan(collC, kindR, docstore.ScanOptions{}, func(*docstore.Object) (bool, error) {
			calls++
			if calls == 2 {
				return true, stop
			}
			return true, nil
		})
	})
	if !errors.Is(err, stop) || calls != 2 {
		h.Fatalf("Scan with fn failing on call 2: err %v after %d calls; want %v after 2", err, calls, stop)
	}
}

// testScanWrites: fn may write to the set it scans. Replacing each object
// by a newer tombstone visits every object once; deleting the tree ends
// the scan.
func testScanWrites(h *harness) {
	for i := range 10 {
		h.put(collC, kindR, obj(string(rune('a'+i)), int64(i+1)))
	}
	var seen []string
	h.update(func(tx docstore.Tx) error {
		seen = nil
		next := int64(100)
		return tx.Scan(collC, kindR, docstore.ScanOptions{}, func(o *docstore.Object) (bool, error) {
			seen = append(seen, o.ID)
			next++
			return true, tx.Put(collC, kindR, tomb(o.ID, next))
		})
	})
	if want := []string{"j", "i", "h", "g", "f", "e", "d", "c", "b", "a"}; !slices.Equal(seen, want) {
		h.Fatalf("Scan replacing each object visited %q; want %q", seen, want)
	}
	h.assertCount(collC, kindR, 0)
	h.assertScan(collC, kindR, docstore.ScanOptions{IncludeDeleted: true},
		"~a@110", "~b@109", "~c@108", "~d@107", "~e@106", "~f@105", "~g@104", "~h@103", "~i@102", "~j@101")

	h.put(collC, kindR, obj("x", 200), obj("y", 201))
	calls := 0
	h.update(func(tx docstore.Tx) error {
		calls = 0
		return tx.Scan(collC, kindR, docstore.ScanOptions{IncludeDeleted: true}, func(*docstore.Object) (bool, error) {
			calls++
			return true, tx.DeleteTree(collC)
		})
	})
	if calls != 1 {
		h.Fatalf("Scan deleting its tree called fn %d times; want 1", calls)
	}
	h.assertScan(collC, kindR, docstore.ScanOptions{IncludeDeleted: true})
}

// testScanAscending: Ascending reverses the order, keeps the Since
// cutoff, and does not visit what fn writes.
func testScanAscending(h *harness) {
	want := scanFixture(h)
	slices.Reverse(want)
	up := docstore.ScanOptions{IncludeDeleted: true, Ascending: true}
	h.assertScan(collC, kindR, up, want...)
	h.assertScan(collC, kindR, docstore.ScanOptions{Ascending: true}, without(want)...)
	for _, c := range []struct {
		since int64
		n     int
	}{
		{since: 7, n: 1}, {since: 6, n: 3}, {since: 5, n: 4}, {since: 1, n: 8},
		{since: 0, n: len(want)}, {since: math.MinInt64, n: len(want)}, {since: math.MaxInt64},
	} {
		up.Since = c.since
		h.assertScan(collC, kindR, up, want[len(want)-c.n:]...)
	}
	// Replacing each object by a newer tombstone: the live ones, then the
	// tombstones (all newer than the scan's start), each visited once.
	for _, c := range []struct {
		opts docstore.ScanOptions
		next int64
	}{
		{docstore.ScanOptions{Ascending: true, Since: 4}, 100},
		{docstore.ScanOptions{Ascending: true, Since: 100, IncludeDeleted: true}, 1000},
	} {
		var seen []string
		h.update(func(tx docstore.Tx) error {
			seen = nil
			next := c.next
			return tx.Scan(collC, kindR, c.opts, func(o *docstore.Object) (bool, error) {
				seen = append(seen, o.ID)
				next++
				return true, tx.Put(collC, kindR, tomb(o.ID, next))
			})
		})
		if want := []string{"a", "aa", "c", "b", "e", "max"}; !slices.Equal(seen, want) {
			h.Fatalf("ascending Scan %+v replacing each object visited %q; want %q", c.opts, seen, want)
		}
	}
	var first []string
	h.view(func(tx docstore.Tx) error {
		first = nil
		return tx.Scan(collC, kindR, docstore.ScanOptions{Ascending: true, IncludeDeleted: true, Since: 7}, func(o *docstore.Object) (bool, error) {
			first = append(first, o.ID)
			return len(first) < 2, nil
		})
	})
	if want := []string{"a", "aa"}; !slices.Equal(first, want) {
		h.Fatalf("ascending Scan since 7 stopping after 2 visited %q; want %q", first, want)
	}
}

// testScanBare: NoPermissions and Bare leave out what they say, in both
// directions, and keep ids, timestamps and tombstone flags.
func testScanBare(h *harness) {
	want := scanFixture(h)
	full := h.scan(collC, kindR, docstore.ScanOptions{IncludeDeleted: true})
	for _, asc := range []bool{false, true} {
		for _, opts := range []docstore.ScanOptions{
			{IncludeDeleted: true, NoPermissions: true, Ascending: asc},
			{IncludeDeleted: true, Bare: true, Ascending: asc},
		} {
			got := h.scan(collC, kindR, opts)
			if asc {
				slices.Reverse(got)
			}
			if !slices.Equal(keys(got), want) {
				h.Fatalf("Scan(%+v) = %q; want %q", opts, keys(got), want)
			}
			for i, o := range got {
				wantData := full[i].Data
				if opts.Bare {
					wantData = nil
				}
				if o.Permissions != nil || string(o.Data) != string(wantData) {
					h.Fatalf("Scan(%+v) gave %s with data %s and permissions %v", opts, o.ID, o.Data, o.Permissions)
				}
			}
		}
	}
}
