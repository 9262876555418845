package ratelimit

import (
	"math/rand/v2"
	"testing"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// TestKeyTableIsLRU drives keyTable and golang-lru's simplelru with the
// same random gets, adds and resizes: both must hold the same keys with
// the same values, in the same order of use. Half the keys are small
// numbers, whose hashes share their upper half and so their home in the
// index: long probe runs for find and remove to get right.
func TestKeyTableIsLRU(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 20 {
		capacity := 1 + rng.IntN(64)
		table := newKeyTable(capacity)
		model, _ := simplelru.NewLRU[uint64, int64](capacity, nil)
		keys := make([]uint64, 3*capacity)
		for i := range keys {
			keys[i] = uint64(i)
			if i%2 == 1 {
				keys[i] = rng.Uint64()
			}
		}
		for op := range 5000 {
			hash := keys[rng.IntN(len(keys))]
			switch r := rng.IntN(100); {
			case r < 2:
				capacity = 1 + rng.IntN(64)
				table.resize(capacity)
				model.Resize(capacity)
			case r < 60:
				i := table.get(hash)
				want, ok := model.Get(hash)
				if (i != none) != ok || ok && table.slots[i].tat != want {
					t.Fatalf("round %d op %d: get %d = slot %d, want %d (held: %v)", round, op, hash, i, want, ok)
				}
			default:
				if _, _, ok := table.find(hash); ok {
					continue // add is for keys not held
				}
				table.add(hash, int64(op))
				model.Add(hash, int64(op))
			}
			checkSameOrder(t, table, model)
		}
	}
}

// checkSameOrder compares the keys from least to most recently used.
func checkSameOrder(t *testing.T, table *keyTable, model *simplelru.LRU[uint64, int64]) {
	t.Helper()
	var got []uint64
	for i := table.tail; i != none; i = table.slots[i].prev {
		got = append(got, table.slots[i].hash)
	}
	want := model.Keys()
	if len(got) != len(want) || table.len() != len(want) || len(table.slots) > table.capacity {
		t.Fatalf("table holds %v (%d indexed, %d slots), want %v", got, table.len(), len(table.slots), want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("order of use %v, want %v", got, want)
		}
	}
}
