package cache

import (
	"sync"
	"testing"
)

func byteLen(b []byte) int64 { return int64(len(b)) }

func TestChangesLRUBoundedInBytes(t *testing.T) {
	c := NewLRU[string](10, byteLen)
	c.Add("a", []byte("aaaa"))
	c.Add("b", []byte("bbbb"))
	if _, ok := c.Get("a"); !ok { // a is now the most recent
		t.Fatal("a missing")
	}
	c.Add("c", []byte("cccc")) // 12 bytes: b, the least recent, goes
	if _, ok := c.Get("b"); ok {
		t.Fatal("b kept beyond the bound")
	}
	for _, k := range []string{"a", "c"} {
		if _, ok := c.Get(k); !ok {
			t.Fatalf("%s evicted", k)
		}
	}
	// Replacing a value accounts for the old one.
	c.Add("a", []byte("a"))
	if st := c.Stats(); st.Bytes != 5 || st.Entries != 2 {
		t.Fatalf("stats after replace: %+v", st)
	}
	// A value larger than the cache is not kept, and drops its old value.
	c.Add("c", []byte("0123456789abc"))
	if _, ok := c.Get("c"); ok {
		t.Fatal("oversized value kept")
	}
	c.SetMaxBytes(0)
	if st := c.Stats(); st.Entries != 0 || st.Bytes != 0 {
		t.Fatalf("after shrinking to 0: %+v", st)
	}
	st := c.Stats()
	if st.Hits != 3 || st.Misses != 2 || st.HitRate() != 0.6 {
		t.Fatalf("counters %+v rate %v", st, st.HitRate())
	}
}

func TestChangesLRUConcurrent(t *testing.T) {
	c := NewLRU[int](1000, byteLen)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 1000 {
				c.Add((g*1000+i)%50, make([]byte, 30))
				c.Get(i % 50)
			}
		})
	}
	wg.Wait()
	if st := c.Stats(); st.Bytes > 1000 || st.Bytes != int64(st.Entries)*30 {
		t.Fatalf("accounting off: %+v", st)
	}
}
