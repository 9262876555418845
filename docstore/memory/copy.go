package memory

import "github.com/changegate/changegate/docstore"

// cloneObject deep-copies o. Empty data, permissions and principal lists
// become nil, as the bolt engine returns them.
func cloneObject(o *docstore.Object) *docstore.Object {
	c := *o
	c.Data = nil
	if len(o.Data) > 0 {
		c.Data = append([]byte(nil), o.Data...)
	}
	c.Permissions = clonePermissions(o.Permissions)
	return &c
}

// cloneScanned copies what a scan's options ask for of o.
func cloneScanned(o *docstore.Object, opts docstore.ScanOptions) *docstore.Object {
	switch {
	case opts.Bare:
		return &docstore.Object{ID: o.ID, LastModified: o.LastModified, Deleted: o.Deleted, Generation: o.Generation}
	case opts.NoPermissions:
		c := &docstore.Object{ID: o.ID, LastModified: o.LastModified, Deleted: o.Deleted, Generation: o.Generation}
		if len(o.Data) > 0 {
			c.Data = append([]byte(nil), o.Data...)
		}
		return c
	}
	return cloneObject(o)
}

// clonePermissions deep-copies p.
func clonePermissions(p docstore.Permissions) docstore.Permissions {
	if len(p) == 0 {
		return nil
	}
	c := make(docstore.Permissions, len(p))
	for name, principals := range p {
		var cp []string
		if len(principals) > 0 {
			cp = append([]string(nil), principals...)
		}
		c[name] = cp
	}
	return c
}
