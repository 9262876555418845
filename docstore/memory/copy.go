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
