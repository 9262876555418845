package bolt

import (
	"bytes"
	"math"
	"testing"

	"github.com/changegate/changegate/docstore"
)

// FuzzCodec checks that decodeValue inverts encodeValue and never panics
// on arbitrary bytes.
func FuzzCodec(f *testing.F) {
	f.Add(false, int64(1), "read", "system.Everyone", "write", []byte(`{"id":"x"}`))
	f.Add(true, int64(3), "", "", "", []byte(nil))
	f.Add(false, int64(1<<40), "a", "", "b\x00", []byte{0, 1, 2, 255})
	f.Fuzz(func(t *testing.T, deleted bool, gen int64, name1, principal, name2 string, data []byte) {
		gen &= math.MaxInt64
		in := &docstore.Object{Deleted: deleted, Generation: gen, Data: data, Permissions: docstore.Permissions{name1: {principal, principal}, name2: nil}}
		v := encodeValue(in)
		var out docstore.Object
		if err := decodeValue(v, &out); err != nil {
			t.Fatalf("decoding %x: %v", v, err)
		}
		if out.Deleted != deleted || out.Generation != gen || !bytes.Equal(out.Data, data) || len(out.Permissions) != len(in.Permissions) {
			t.Fatalf("decoded %+v; want %+v", out, in)
		}
		for name, principals := range in.Permissions {
			got, ok := out.Permissions[name]
			if !ok || len(got) != len(principals) || (len(got) > 0 && (got[0] != principal || got[1] != principal)) {
				t.Fatalf("decoded permission %q = %q; want %q", name, got, principals)
			}
		}
		if valueDeleted(v) != deleted {
			t.Fatalf("valueDeleted(%x) = %t; want %t", v, !deleted, deleted)
		}
		for i := range v {
			var junk docstore.Object
			decodeValue(v[:i], &junk)
			decodeValue(append(append([]byte(nil), v[:i]...), data...), &junk)
		}
	})
}

// TestDecodeFormat1Value reads a value written by storage format 1, which
// had no generation, as generation 1.
func TestDecodeFormat1Value(t *testing.T) {
	v := []byte{codecVersionV1, 0, 0}
	v = append(v, `{"id":"x"}`...)
	var out docstore.Object
	if err := decodeValue(v, &out); err != nil {
		t.Fatal(err)
	}
	if out.Generation != 1 || string(out.Data) != `{"id":"x"}` || out.Deleted || out.Permissions != nil {
		t.Fatalf("decoded %+v; want generation 1 and the data", out)
	}
}
