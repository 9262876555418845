package ratelimit

import (
	"runtime"
	"strconv"
	"testing"
	"time"
)

// TestMemoryBound: a flood of 1,000,000 distinct keys leaves the store at
// its cap, and the heap it holds in proportion to the cap, not the flood.
func TestMemoryBound(t *testing.T) {
	const maxKeys, flood = 10_000, 1_000_000
	clock := newFakeClock()
	m := NewMemory(maxKeys, clock)
	l := Limit{Events: 10, Window: time.Minute}
	before := heapInUse()
	for i := range flood {
		take(t, m, Hit{Key: "flood:*:1:" + strconv.Itoa(i), Limit: l})
		if i%100_000 == 0 && m.Len() > maxKeys {
			t.Fatalf("after %d keys the store holds %d, cap %d", i+1, m.Len(), maxKeys)
		}
	}
	if n := m.Len(); n != maxKeys {
		t.Fatalf("store holds %d keys, want the cap %d", n, maxKeys)
	}
	grown := heapInUse() - before
	perKey := grown / maxKeys
	t.Logf("heap held by %d keys: %d bytes (%d per key)", maxKeys, grown, perKey)
	if perKey > 128 {
		t.Fatalf("%d bytes per key: the store holds more than its cap", perKey)
	}
	runtime.KeepAlive(m)
}

// TestMemoryEvictionBound: an evicted key comes back with a full budget,
// so a client whose key was pushed out by capacity-many other keys gets
// at most one extra burst of N, never more; with fewer keys than the
// capacity in between, it gets nothing extra.
func TestMemoryEvictionBound(t *testing.T) {
	const maxKeys = 1000
	clock := newFakeClock()
	m := NewMemory(maxKeys, clock)
	l := Limit{Events: 5, Window: time.Hour}
	client := Hit{"api:*:1:client", l}
	spend := func() (n int) {
		for take(t, m, client).Allowed {
			n++
		}
		return n
	}
	others := func(from, count int) {
		for i := range count {
			take(t, m, Hit{"api:*:1:other" + strconv.Itoa(from+i), l})
		}
	}
	if n := spend(); n != 5 {
		t.Fatalf("first burst: %d", n)
	}
	others(0, maxKeys-1)
	if n := spend(); n != 0 {
		t.Fatalf("with %d other keys (below the cap) the client got %d more", maxKeys-1, n)
	}
	others(maxKeys, maxKeys)
	if n := spend(); n != 5 {
		t.Fatalf("after eviction: %d extra events, want exactly one burst of 5", n)
	}
}

// heapInUse is the live heap after a collection.
func heapInUse() int64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return int64(ms.HeapInuse)
}
