package bolt

import (
	"bytes"
	"fmt"

	"github.com/changegate/changegate/docstore"
	"go.etcd.io/bbolt"
)

// DeleteTree removes every key of parent uri or of a parent below it. In
// the buckets keyed by parent first that is the keys starting with
// uri + "\x00" (NUL ends a parent, so "/buckets/b\x00" does not match
// "/buckets/bb") and those starting with uri + "/". Timestamps are keyed by
// kind first, so they are cleared kind by kind.
func (t *tx) DeleteTree(uri string) error {
	err := t.writable()
	if err == nil {
		err = docstore.CheckURI(uri)
	}
	if err == nil {
		err = t.deleteTree(uri)
	}
	if err != nil {
		return fmt.Errorf("deleting tree %q: %w", uri, err)
	}
	return nil
}

func (t *tx) deleteTree(uri string) error {
	exact, below := []byte(uri+"\x00"), []byte(uri+"/")
	for _, b := range []*bbolt.Bucket{t.objects, t.ids, t.counts} {
		if err := deletePrefix(b, exact); err != nil {
			return err
		}
		if err := deletePrefix(b, below); err != nil {
			return err
		}
	}
	return t.deleteTimestampTree(uri)
}

// deleteTimestampTree visits each kind present in the timestamps bucket,
// jumping from one kind to the next with a seek.
func (t *tx) deleteTimestampTree(uri string) error {
	c := t.timestamps.Cursor()
	for k, _ := c.First(); k != nil; {
		i := bytes.IndexByte(k, 0)
		if i < 0 {
			return errCorrupt
		}
		kind := string(k[:i])
		if err := t.timestamps.Delete(timestampKey(uri, kind)); err != nil {
			return err
		}
		if err := deletePrefix(t.timestamps, []byte(kind+"\x00"+uri+"/")); err != nil {
			return err
		}
		k, _ = c.Seek([]byte(kind + "\x01"))
	}
	return nil
}

// deletePrefix deletes every key of b starting with prefix. It seeks again
// after each deletion because a bbolt cursor may skip a key when moved
// after a Delete.
func deletePrefix(b *bbolt.Bucket, prefix []byte) error {
	c := b.Cursor()
	for k, _ := c.Seek(prefix); bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}
