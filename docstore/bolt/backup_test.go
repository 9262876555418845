package bolt

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/changegate/changegate/docstore"
)

// TestSnapshotUnderWrites copies the file while writers commit: every
// write acknowledged before the snapshot began is in the copy, the copy
// has the announced size and passes Verify.
func TestSnapshotUnderWrites(t *testing.T) {
	e, _ := openTemp(t)
	ctx := context.Background()
	var acked sync.Map // id -> acknowledged before the snapshot began
	var began atomic.Bool
	var count atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("w%d-%d", w, i)
				obj := &docstore.Object{ID: id, LastModified: int64(i + 1), Data: []byte(`{"id":"` + id + `"}`)}
				if err := e.Update(ctx, func(tx docstore.Tx) error { return tx.Put("/p", "record", obj) }); err != nil {
					t.Error(err)
					return
				}
				acked.Store(id, !began.Load())
				count.Add(1)
			}
		})
	}
	for count.Load() < 50 {
		time.Sleep(time.Millisecond)
	}
	var buf bytes.Buffer
	var size int64
	n, err := e.Snapshot(&buf, func(s int64) { size = s; began.Store(true) })
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if n != size || int64(buf.Len()) != size {
		t.Fatalf("wrote %d bytes, buffer %d, announced %d", n, buf.Len(), size)
	}
	path := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Verify(path); err != nil {
		t.Fatal(err)
	}
	restored, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer restored.Close()
	before := 0
	acked.Range(func(k, v any) bool {
		if !v.(bool) {
			return true
		}
		before++
		err := restored.View(ctx, func(tx docstore.Tx) error {
			_, err := tx.Get("/p", "record", k.(string))
			return err
		})
		if err != nil {
			t.Errorf("%s acknowledged before the snapshot: %v", k, err)
		}
		return true
	})
	if before == 0 {
		t.Fatal("no write was acknowledged before the snapshot began")
	}
}

func TestVerifyRefusesOtherFiles(t *testing.T) {
	path := filepath.Join(t.TempDir(), "junk.db")
	if err := os.WriteFile(path, bytes.Repeat([]byte("x"), 8192), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Verify(path); err == nil {
		t.Fatal("Verify accepted a file of junk")
	}
}
