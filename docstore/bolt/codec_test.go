package bolt

import (
	"bytes"
	"testing"

	"github.com/changegate/changegate/docstore"
)

// FuzzCodec checks that decodeValue inverts encodeValue and never panics
// on arbitrary bytes.
func FuzzCodec(f *testing.F) {
	f.Add(false, "read", "system.Everyone", "write", []byte(`{"id":"x"}`))
	f.Add(true, "", "", "", []byte(nil))
	f.Add(false, "a", "", "b\x00", []byte{0, 1, 2, 255})
	f.Fuzz(func(t *testing.T, deleted bool, name1, principal, name2 string, data []byte) {
		in := &docstore.Object{Deleted: deleted, Data: data, Permissions: docstore.Permissions{name1: {principal, principal}, name2: nil}}
		v := encodeValue(in)
		var out docstore.Object
		if err := decodeValue(v, &out); err != nil {
			t.Fatalf("decoding %x: %v", v, err)
		}
		if out.Deleted != deleted || !bytes.Equal(out.Data, data) || len(out.Permissions) != len(in.Permissions) {
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
