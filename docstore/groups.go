package docstore

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/changegate/changegate/kinto"
)

// kindMembership indexes group membership: one entry per member principal
// (under the root parent), listing the URIs of the groups it belongs to,
// so that a request's principals cost one read. Kinto keeps the same
// index in its permission backend (get_user_principals).
const kindMembership = "membership"

// memberships returns the group URIs member belongs to.
func (o *op) memberships(member string) ([]string, error) {
	obj, err := o.tx.Get("", kindMembership, member)
	if err != nil || obj == nil {
		return nil, ignoreNotFound(err)
	}
	var groups []string
	return groups, json.Unmarshal(obj.Data, &groups)
}

// setMemberships stores (or clears) member's group list.
func (o *op) setMemberships(member string, groups []string) error {
	if len(groups) == 0 {
		// A tombstone keeps the index free of empty entries.
		return o.tx.Put("", kindMembership, &Object{ID: member, Deleted: true})
	}
	data, err := json.Marshal(groups)
	if err != nil {
		return err
	}
	return o.tx.Put("", kindMembership, &Object{ID: member, Data: data})
}

// updateMemberships records that group now has members instead of old.
func (o *op) updateMemberships(group string, old, members []string) error {
	for _, m := range old {
		if !slices.Contains(members, m) {
			if err := o.editMemberships(m, group, false); err != nil {
				return err
			}
		}
	}
	for _, m := range members {
		if !slices.Contains(old, m) {
			if err := o.editMemberships(m, group, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// editMemberships adds or removes group in member's index entry.
func (o *op) editMemberships(member, group string, add bool) error {
	groups, err := o.memberships(member)
	if err != nil {
		return err
	}
	groups = slices.DeleteFunc(groups, func(g string) bool { return g == group })
	if add {
		groups = append(groups, group)
		slices.Sort(groups)
	}
	return o.setMemberships(member, groups)
}

// groupMembers reads the members of a group's data.
func groupMembers(data json.RawMessage) []string {
	var g struct {
		Members []string `json:"members"`
	}
	_ = json.Unmarshal(data, &g)
	return g.Members
}

// validateGroup checks a group's members (Kinto's GroupSchema) and makes
// sure the data has a members list.
func validateGroup(data json.RawMessage) (json.RawMessage, error) {
	ms := members(data)
	raw := findMember(ms, "members")
	if raw == nil {
		return buildObject(setMember(ms, "members", json.RawMessage("[]"))), nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, kinto.Invalid(kinto.ValidationDetail{Location: "body", Name: "data.members", Description: string(raw) + " is not a list of strings"})
	}
	for i, m := range list {
		if strings.HasPrefix(m, "/buckets/") || m == Everyone {
			return nil, kinto.Invalid(kinto.ValidationDetail{Location: "body", Name: "data.members." + strconv.Itoa(i),
				Description: "'" + m + "' is not a valid user ID."})
		}
	}
	return data, nil
}

// dropBucketMemberships removes the groups of a bucket about to be
// deleted from the membership index.
func (o *op) dropBucketMemberships(bucket string) error {
	parent := BucketURI(bucket)
	var groups []*Object
	err := o.tx.Scan(parent, KindGroup, ScanOptions{}, func(obj *Object) (bool, error) {
		groups = append(groups, obj)
		return true, nil
	})
	if err != nil {
		return err
	}
	for _, g := range groups {
		uri := parent + "/groups/" + g.ID
		if err := o.updateMemberships(uri, groupMembers(g.Data), nil); err != nil {
			return err
		}
	}
	return nil
}

// saveGroup validates a group about to be written and updates the
// membership index from its old members to its new ones.
func (o *op) saveGroup(r ref, data json.RawMessage) (json.RawMessage, error) {
	if data == nil {
		data = json.RawMessage("{}")
	}
	data, err := validateGroup(data)
	if err != nil {
		return nil, err
	}
	var old []string
	existing, err := o.get(r)
	if err != nil {
		return nil, err
	}
	if existing != nil {
		old = groupMembers(existing.Data)
	}
	return data, o.updateMemberships(r.uri(), old, groupMembers(data))
}

// beforeRemove keeps the membership index right when a group, or a bucket
// and all its groups, is deleted.
func (o *op) beforeRemove(r ref) error {
	switch r.Kind {
	case KindBucket:
		return o.dropBucketMemberships(r.ID)
	case KindGroup:
		existing, err := o.get(r)
		if err != nil || existing == nil {
			return err
		}
		return o.updateMemberships(r.uri(), groupMembers(existing.Data), nil)
	}
	return nil
}
