package docstore

import (
	"context"
	"net/http"
	"regexp"
	"slices"
	"strings"

	"github.com/changegate/changegate/kinto"
	"github.com/tidwall/gjson"
	"golang.org/x/crypto/bcrypt"
)

// accountIDPattern is Kinto's account id rule: ids may be e-mail
// addresses.
var accountIDPattern = regexp.MustCompile(`^[a-zA-Z0-9][+.@a-zA-Z0-9_-]*$`)

// accountPrefix prefixes the user id of an account holder.
const accountPrefix = "account:"

// accountCall is one request on /accounts being served.
type accountCall struct {
	*call
	admin bool
	// self is the caller's own account id, "" unless they authenticated
	// with an account.
	self string
	// touched collects the accounts written, whose verified credentials
	// are forgotten once the write commits.
	touched *[]string
}

// accountsEndpoint serves /accounts and /accounts/{id} in a transaction
// of its own, then forgets the verified credentials of the accounts it
// changed.
func (h *Handler) accountsEndpoint(ctx context.Context, req *request, r ref) *response {
	if h.cfg.Accounts == nil {
		return errorResponse(errUnknownPath())
	}
	var resp *response
	var touched []string
	run := h.store.read
	if !req.isRead() {
		run = h.store.write
	}
	err := run(ctx, func(o *op) error {
		touched = touched[:0]
		var err error
		resp, err = h.serveAccount(o, req, r, &touched)
		return err
	})
	if err != nil {
		return h.internalError(req, err)
	}
	for _, id := range touched {
		h.verified.forget(id)
	}
	return resp
}

// serveAccount answers an accounts request inside o's transaction (also
// for batch sub-requests).
func (h *Handler) serveAccount(o *op, req *request, r ref, touched *[]string) (*response, error) {
	resp, err := h.routeAccount(o, req, r, touched)
	if ke, ok := err.(*kinto.Error); ok {
		resp, err = errorResponse(ke), nil
	}
	if err != nil {
		return nil, err
	}
	resp.expose = exposeFor(r, req.method)
	return resp, nil
}

func (h *Handler) routeAccount(o *op, req *request, r ref, touched *[]string) (*response, error) {
	if resp := h.checkRequest(req, r); resp != nil {
		return resp, nil
	}
	id, err := o.identify(req.userID)
	if err != nil {
		return nil, err
	}
	prec, _ := kinto.ParsePreconditions(req.header)
	a := &accountCall{call: &call{request: req, r: r, prec: prec, id: id},
		admin: id.holds(h.cfg.Accounts.WritePrincipals), touched: touched}
	a.self, _ = strings.CutPrefix(req.userID, accountPrefix)
	if !strings.HasPrefix(req.userID, accountPrefix) {
		a.self = ""
	}
	if r.plural() {
		switch req.method {
		case http.MethodPost:
			return h.postAccount(o, a)
		case http.MethodDelete:
			return h.deleteAccounts(o, a)
		}
		return h.listAccounts(o, a)
	}
	if !accountIDPattern.MatchString(r.ID) {
		return nil, kinto.Invalid(kinto.ValidationDetail{Location: "path", Description: "Invalid object id", Nameless: true})
	}
	if a.existing, err = o.get(r); err != nil {
		return nil, err
	}
	switch req.method {
	case http.MethodPut:
		return h.putAccount(o, a, false)
	case http.MethodPatch:
		return h.patchAccount(o, a)
	}
	if !h.mayAccess(a, a.existing, permRead) {
		return nil, h.errUnauthorized(id)
	}
	a.call.id = a.viewer()
	if req.method == http.MethodDelete {
		*a.touched = append(*a.touched, r.ID)
		return h.deleteObject(o, a.call)
	}
	return h.getObject(o, a.call)
}

// viewer is whom an answer shows the account to, once access is
// granted: Kinto credits anonymous and administrator requests to the
// account itself, so they see its permissions as its owner does.
func (a *accountCall) viewer() *identity {
	if !a.admin && !a.id.anonymous() {
		return a.id
	}
	return &identity{userID: a.id.userID, principals: append(slices.Clone(a.id.principals), accountPrefix+a.r.ID)}
}

// mayAccess reports whether the caller holds perm on the account obj
// (nil: none): administrators (account_write_principals) hold every
// permission, account_read_principals read, the others what the
// account's own permissions grant them.
func (h *Handler) mayAccess(a *accountCall, obj *Object, perm string) bool {
	if obj == nil {
		return false
	}
	if a.admin || h.cfg.InsecureAllowAll || (perm == permRead && a.id.holds(h.cfg.Accounts.ReadPrincipals)) {
		return true
	}
	return holdsAny(a.id, obj.Permissions, grants[KindAccount][perm][KindAccount])
}

// putAccount creates (201, with account:create) or replaces (200, with
// write) an account; posted marks a POST, which answers an existing
// account the caller may read with 200 and no change.
func (h *Handler) putAccount(o *op, a *accountCall, posted bool) (*response, error) {
	switch {
	case a.existing != nil && posted:
		if !h.mayAccess(a, a.existing, permRead) {
			return nil, h.errUnauthorized(a.id)
		}
		if err := o.checkPreconditions(a.call, a.existing); err != nil {
			return nil, err
		}
		return objectResponse(http.StatusOK, a.existing, a.viewer())
	case a.existing == nil || a.header.Get("If-None-Match") == "*":
		if !h.cfg.InsecureAllowAll && !a.id.holds(h.cfg.Accounts.CreatePrincipals) {
			return nil, h.errUnauthorized(a.id)
		}
	case !h.mayAccess(a, a.existing, permWrite):
		return nil, h.errUnauthorized(a.id)
	}
	p, err := a.payload(o)
	if err != nil {
		return nil, err
	}
	if err := checkKnownPermissions(KindAccount, p.Permissions); err != nil {
		return nil, err
	}
	data, err := h.hashPassword(p.Data, true)
	if err != nil {
		return nil, err
	}
	perms := Permissions{}
	if a.existing != nil && p.Permissions == nil {
		perms = a.existing.Permissions.clone()
	}
	perms.replace(p.Permissions)
	obj, err := h.saveAccount(o, a, data, perms)
	if err != nil {
		return nil, err
	}
	status := http.StatusOK
	if a.existing == nil {
		status = http.StatusCreated
	}
	return objectResponse(status, obj, a.viewer())
}

// postAccount answers POST /accounts: the account id is data.id.
func (h *Handler) postAccount(o *op, a *accountCall) (*response, error) {
	v := gjson.GetBytes(a.body, "data.id")
	if v.Type != gjson.String {
		return nil, kinto.Invalid(kinto.ValidationDetail{Location: "body", Name: "data.id", Description: "data.id in body: Required"})
	}
	if !accountIDPattern.MatchString(v.Str) {
		return nil, kinto.Invalid(kinto.ValidationDetail{Location: "path", Description: "Invalid object id", Nameless: true})
	}
	a.r = a.r.withID(v.Str)
	var err error
	if a.existing, err = o.get(a.r); err != nil {
		return nil, err
	}
	return h.putAccount(o, a, true)
}

// patchAccount merges changes into an account the caller may write,
// hashing a new password.
func (h *Handler) patchAccount(o *op, a *accountCall) (*response, error) {
	if !h.mayAccess(a, a.existing, permWrite) {
		return nil, h.errUnauthorized(a.id)
	}
	p, err := a.payload(o)
	if err != nil {
		return nil, err
	}
	if p.Data == nil && p.Permissions == nil {
		return nil, kinto.Invalid(kinto.ValidationDetail{Location: "body", Name: "data", Description: "Provide at least one of data or permissions"})
	}
	changes, err := h.hashPassword(p.Data, false)
	if err != nil {
		return nil, err
	}
	data := a.existing.Data
	if changes != nil {
		data = mergeObject(data, changes, false)
	}
	perms := a.existing.Permissions.clone()
	perms.replace(p.Permissions)
	if err := checkKnownPermissions(KindAccount, perms); err != nil {
		return nil, err
	}
	obj, err := h.saveAccount(o, a, data, perms)
	if err != nil {
		return nil, err
	}
	return objectResponse(http.StatusOK, obj, a.viewer())
}

// payload reads the body of a write the caller may make, once the
// own-account rule and the preconditions allow it.
func (a *accountCall) payload(o *op) (*payload, error) {
	if err := a.ownAccountOnly(); err != nil {
		return nil, err
	}
	if err := o.checkPreconditions(a.call, a.existing); err != nil {
		return nil, err
	}
	return parsePayload(a.body)
}

// ownAccountOnly refuses a user who is not an administrator writing an
// account other than their own (Kinto: "Username and account ID do not
// match."). Anonymous users create accounts for themselves.
func (a *accountCall) ownAccountOnly() error {
	if a.admin || a.id.anonymous() || a.self == a.r.ID {
		return nil
	}
	return kinto.Invalid(kinto.ValidationDetail{Location: "body", Name: "data.id", Description: "Username and account ID do not match."})
}

// saveAccount stores the account; the account itself, not whoever wrote
// it, gets write (Kinto credits account:<id> for anonymous and
// administrator writes alike).
func (h *Handler) saveAccount(o *op, a *accountCall, data []byte, perms Permissions) (*Object, error) {
	*a.touched = append(*a.touched, a.r.ID)
	return o.save(a.r, data, perms, accountPrefix+a.r.ID)
}

// hashPassword replaces data's password by its bcrypt hash. required
// refuses data without one (PUT, POST); a PATCH may leave it out.
func (h *Handler) hashPassword(data []byte, required bool) ([]byte, error) {
	ms := members(data)
	raw := findMember(ms, "password")
	if raw == nil {
		if required {
			return nil, kinto.Invalid(kinto.ValidationDetail{Location: "body", Name: "data.password", Description: "Required"})
		}
		return data, nil
	}
	pw := gjson.ParseBytes(raw)
	if pw.Type != gjson.String {
		return nil, kinto.Invalid(kinto.ValidationDetail{Location: "body", Name: "data.password", Description: pw.Raw + " is not a string: {'password': ''}"})
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(pw.Str), h.cfg.Accounts.BcryptCost)
	if err != nil {
		return nil, kinto.Invalid(kinto.ValidationDetail{Location: "body", Name: "data.password", Description: err.Error()})
	}
	return buildObject(setMember(ms, "password", kinto.AppendJSONString(nil, string(hash)))), nil
}

// visibleAccounts are the ids of the accounts a list shows the caller:
// every account to administrators and account readers, their own to the
// others.
func (h *Handler) visibleAccounts(o *op, a *accountCall) ([]string, error) {
	if !a.admin && !h.cfg.InsecureAllowAll && !a.id.holds(h.cfg.Accounts.ReadPrincipals) {
		if a.self == "" {
			return nil, nil
		}
		return []string{a.self}, nil
	}
	var ids []string
	err := o.tx.Timestamps(KindAccount, func(parent string, _ int64) error {
		ids = append(ids, parent)
		return nil
	})
	slices.Sort(ids)
	return ids, err
}

// listAccounts answers GET /accounts with the accounts the caller may
// see, filtered and sorted like any list.
func (h *Handler) listAccounts(o *op, a *accountCall) (*response, error) {
	if a.id.anonymous() && !h.cfg.InsecureAllowAll {
		return nil, h.errUnauthorized(a.id)
	}
	q, err := h.parseQuery(a.query)
	if err != nil {
		return nil, err
	}
	ids, err := h.visibleAccounts(o, a)
	if err != nil {
		return nil, err
	}
	var found []listed
	ts := int64(0)
	for _, id := range ids {
		list := ref{Kind: KindAccount, ID: id}
		t, _, err := o.tx.Timestamp(list.parent(), KindAccount)
		if err != nil {
			return nil, err
		}
		ts = max(ts, t)
		err = o.tx.Scan(list.parent(), KindAccount, ScanOptions{Since: q.SinceHint(), IncludeDeleted: q.IncludeDeleted}, func(obj *Object) (bool, error) {
			decoded, err := decodeListed(obj, false, nil)
			if err == nil && q.Match(decoded) {
				found = append(found, listed{obj: obj, decoded: decoded})
			}
			return true, err
		})
		if err != nil {
			return nil, err
		}
	}
	sortListed(q, found)
	if len(found) > q.Limit {
		found = found[:q.Limit]
	}
	resp := newResponse(http.StatusOK, nil)
	resp.setTimestamp(ts)
	resp.header.Set("Cache-Control", "no-cache, no-store")
	if a.method == http.MethodHead {
		resp.body = []byte(`{"data":[]}`)
		return resp, nil
	}
	resp.body, err = listBody(found, q)
	return resp, err
}

// deleteAccounts answers DELETE /accounts: every account the caller may
// see and write is deleted.
func (h *Handler) deleteAccounts(o *op, a *accountCall) (*response, error) {
	if a.id.anonymous() && !h.cfg.InsecureAllowAll {
		return nil, h.errUnauthorized(a.id)
	}
	ids, err := h.visibleAccounts(o, a)
	if err != nil {
		return nil, err
	}
	var tombs []listed
	ts := int64(0)
	for _, id := range ids {
		r := ref{Kind: KindAccount, ID: id}
		obj, err := o.get(r)
		if err != nil {
			return nil, err
		}
		if !h.mayAccess(a, obj, permWrite) {
			continue
		}
		tomb, err := o.remove(r, 0)
		if err != nil {
			return nil, err
		}
		*a.touched = append(*a.touched, id)
		tombs = append(tombs, listed{obj: tomb})
		ts = max(ts, tomb.LastModified)
	}
	resp := newResponse(http.StatusOK, nil)
	resp.setTimestamp(ts)
	resp.body, err = listBody(tombs, nil)
	return resp, err
}
