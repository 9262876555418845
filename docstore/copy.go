package docstore

import (
	"context"
	"fmt"
)

// CopyProgress is told how many objects were copied so far.
type CopyProgress func(objects int)

// CopyCounts is what a copy found in the source and wrote.
type CopyCounts struct {
	// Objects and tombstones copied, lists visited, timestamps copied.
	Objects, Tombstones, Lists, Timestamps int
}

// copyBatch bounds the objects written per target transaction.
const copyBatch = 500

// Copy copies every bucket, collection, group and record (tombstones
// included, with their timestamps and permissions) and every list
// timestamp from src to dst. Objects already in dst with the same ids are
// replaced, so running it again converges to the same result. It then
// checks that dst holds, for every list copied, as many live objects and
// tombstones as src.
func Copy(ctx context.Context, src, dst Engine, progress CopyProgress) (CopyCounts, error) {
	var c CopyCounts
	lists := []struct{ parent, kind string }{{"", KindBucket}}
	for i := 0; i < len(lists); i++ {
		l := lists[i]
		children, err := copyList(ctx, src, dst, l.parent, l.kind, &c, progress)
		if err != nil {
			return c, err
		}
		lists = append(lists, children...)
		c.Lists++
	}
	for _, kind := range []string{KindBucket, KindCollection, KindGroup, KindRecord} {
		if err := copyTimestamps(ctx, src, dst, kind, &c); err != nil {
			return c, err
		}
	}
	for _, l := range lists {
		if err := verifyList(ctx, src, dst, l.parent, l.kind); err != nil {
			return c, err
		}
	}
	return c, nil
}

// copyList copies the objects of one list in batches and returns the
// lists below its live objects.
func copyList(ctx context.Context, src, dst Engine, parent, kind string, c *CopyCounts, progress CopyProgress) ([]struct{ parent, kind string }, error) {
	var children []struct{ parent, kind string }
	var batch []*Object
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		err := dst.Update(ctx, func(tx Tx) error {
			for _, o := range batch {
				if err := tx.Put(parent, kind, o); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("writing %s of %q: %w", kind, parent, err)
		}
		for _, o := range batch {
			if o.Deleted {
				c.Tombstones++
			} else {
				c.Objects++
			}
		}
		batch = batch[:0]
		if progress != nil {
			progress(c.Objects + c.Tombstones)
		}
		return nil
	}
	err := src.View(ctx, func(tx Tx) error {
		children = children[:0]
		batch = batch[:0]
		return tx.Scan(parent, kind, ScanOptions{IncludeDeleted: true, Ascending: true}, func(o *Object) (bool, error) {
			if !o.Deleted {
				children = append(children, childLists(parent, kind, o.ID)...)
			}
			batch = append(batch, o)
			if len(batch) == copyBatch {
				return true, flush()
			}
			return true, nil
		})
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return nil, fmt.Errorf("copying %s of %q: %w", kind, parent, err)
	}
	return children, nil
}

// childLists are the lists below an object.
func childLists(parent, kind, id string) []struct{ parent, kind string } {
	switch kind {
	case KindBucket:
		uri := BucketURI(id)
		return []struct{ parent, kind string }{{uri, KindCollection}, {uri, KindGroup}}
	case KindCollection:
		return []struct{ parent, kind string }{{parent + "/collections/" + id, KindRecord}}
	}
	return nil
}

// copyTimestamps copies the list timestamps of kind.
func copyTimestamps(ctx context.Context, src, dst Engine, kind string, c *CopyCounts) error {
	type stamp struct {
		parent string
		ts     int64
	}
	var stamps []stamp
	err := src.View(ctx, func(tx Tx) error {
		stamps = stamps[:0]
		return tx.Timestamps(kind, func(parent string, ts int64) error {
			stamps = append(stamps, stamp{parent, ts})
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("reading %s timestamps: %w", kind, err)
	}
	err = dst.Update(ctx, func(tx Tx) error {
		for _, s := range stamps {
			if err := tx.SetTimestamp(s.parent, kind, s.ts); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("writing %s timestamps: %w", kind, err)
	}
	c.Timestamps += len(stamps)
	return nil
}

// verifyList compares the live and deleted counts of a list.
func verifyList(ctx context.Context, src, dst Engine, parent, kind string) error {
	count := func(e Engine) (live, dead int, err error) {
		err = e.View(ctx, func(tx Tx) error {
			live, dead = 0, 0
			return tx.Scan(parent, kind, ScanOptions{IncludeDeleted: true, Bare: true}, func(o *Object) (bool, error) {
				if o.Deleted {
					dead++
				} else {
					live++
				}
				return true, nil
			})
		})
		return live, dead, err
	}
	sl, sd, err := count(src)
	if err != nil {
		return err
	}
	dl, dd, err := count(dst)
	if err != nil {
		return err
	}
	if sl != dl || sd != dd {
		return fmt.Errorf("%s of %q: source holds %d objects and %d tombstones, target %d and %d", kind, parent, sl, sd, dl, dd)
	}
	return nil
}
