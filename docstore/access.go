package docstore

import (
	"context"
	"net/http"

	"github.com/changegate/changegate/kinto"
)

// This file is the access seam for the modules in front of the docstore
// (changes): they answer their own endpoints but must apply the same
// identities and permissions.

// Caller is who a request acts as, resolved once and reused for
// several checks.
type Caller struct{ id *identity }

// UserID is the caller's prefixed user id, "" when anonymous.
func (c *Caller) UserID() string { return c.id.userID }

// Principals are the caller's principals, groups included.
func (c *Caller) Principals() []string { return c.id.principals }

// Identify resolves the caller of an HTTP request (Caddy-authenticated
// user, else basicauth) with their group principals.
func (h *Handler) Identify(r *http.Request) (*Caller, error) {
	id, err := h.identityOf(r.Context(), h.authenticate(r))
	if err != nil {
		return nil, err
	}
	return &Caller{id: id}, nil
}

// CanReadCollection reports whether the caller may read a collection's
// records: nil when allowed, Kinto's 401 (anonymous) or 403 error when
// not, and 404 errno 111 when the collection does not exist but the
// caller could read it if it did (as the reference changeset endpoint
// answers).
func (h *Handler) CanReadCollection(ctx context.Context, c *Caller, bucket, collection string) error {
	coll := ref{Kind: KindCollection, Bucket: bucket, ID: collection}
	return h.store.read(ctx, func(o *op) error {
		ok := h.cfg.InsecureAllowAll
		if !ok {
			var err error
			if ok, err = o.granted(c.id, lineage(coll), grants[KindCollection][permRead]); err != nil {
				return err
			}
		}
		if !ok {
			return h.errUnauthorized(c.id)
		}
		obj, err := o.get(coll)
		if err != nil {
			return err
		}
		if obj == nil {
			return kinto.UnknownPath()
		}
		return nil
	})
}
