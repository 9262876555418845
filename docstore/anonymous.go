package docstore

import (
	"context"
	"net/http"
	"slices"
	"strings"
)

// Anonymous reports whether r carries no identity this handler accepts
// (no Caddy-authenticated user, no basicauth credentials), without
// reading storage: an anonymous caller's principals are only
// system.Everyone, so modules in front may share one answer among all
// anonymous callers.
func (h *Handler) Anonymous(r *http.Request) bool { return h.authenticate(r) == "" }

// CanReadCollections reports, in one read, which of the collections
// (bucket and collection ids, pairwise) the caller may read records of.
// A collection that does not exist is not readable.
func (h *Handler) CanReadCollections(ctx context.Context, c *Caller, buckets, collections []string) ([]bool, error) {
	out := make([]bool, len(buckets))
	err := h.store.read(ctx, func(o *op) error {
		for i := range buckets {
			coll := ref{Kind: KindCollection, Bucket: buckets[i], ID: collections[i]}
			ok := h.cfg.InsecureAllowAll
			if !ok {
				var err error
				if ok, err = o.granted(c.id, lineage(coll), grants[KindCollection][permRead]); err != nil {
					return err
				}
			}
			if ok {
				obj, err := o.get(coll)
				if err != nil {
					return err
				}
				ok = obj != nil
			}
			out[i] = ok
		}
		return nil
	})
	return out, err
}

// CallerKey names what the caller's permissions depend on: its sorted
// principals. Two requests with the same key may read the same objects.
func (c *Caller) CallerKey() string {
	p := slices.Clone(c.id.principals)
	slices.Sort(p)
	return strings.Join(p, "\x00")
}
