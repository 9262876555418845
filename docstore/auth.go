package docstore

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"slices"

	"github.com/changegate/changegate/kinto"
	"github.com/google/uuid"
)

// Kinto's system principals.
const (
	Everyone      = "system.Everyone"
	Authenticated = "system.Authenticated"
)

// identity is who a request acts as.
type identity struct {
	// userID is the prefixed user id ("basicauth:…", "account:…"), or ""
	// when anonymous.
	userID string
	// principals are what permissions are granted to: the user id,
	// system.Everyone, system.Authenticated and the groups the user is a
	// member of.
	principals []string
}

// anonymous reports whether no user was authenticated.
func (id *identity) anonymous() bool { return id.userID == "" }

// holds reports whether one of the identity's principals is in list.
func (id *identity) holds(list []string) bool {
	for _, p := range list {
		if slices.Contains(id.principals, p) {
			return true
		}
	}
	return false
}

// authenticate returns the user id of a request: the user a Caddy
// authentication handler vouched for (account:<id>), else the account
// whose credentials the Basic header carries (accounts feature), else,
// with the basicauth policy, the HMAC of the Basic credentials (Kinto
// accepts any user:pass as an identity).
func (h *Handler) authenticate(r *http.Request) string {
	if id := userFrom(r.Context()); id != "" {
		return id
	}
	if !h.cfg.BasicAuth && h.cfg.Accounts == nil {
		return ""
	}
	user, pass, ok := r.BasicAuth()
	if !ok || user == "" {
		return ""
	}
	if h.cfg.Accounts != nil {
		if id, ok := h.authenticateAccount(r.Context(), user, pass); ok {
			return id
		}
	}
	if !h.cfg.BasicAuth {
		return ""
	}
	credentials := user + ":" + pass
	if id, ok := h.basicIDs.Get(credentials); ok {
		return id
	}
	id := "basicauth:" + hmacHex(h.cfg.UserIDHMACSecret, credentials)
	h.basicIDs.Add(credentials, id)
	return id
}

// hmacHex is Kinto's hmac_digest: hex HMAC-SHA256 of message.
func hmacHex(secret, message string) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(message))
	return hex.EncodeToString(mac.Sum(nil))
}

// defaultBucketID is the id of a user's personal bucket: the UUID made of
// the first 32 hex digits of HMAC(secret, user id), as Kinto's
// default_bucket plugin computes it.
func (h *Handler) defaultBucketID(userID string) string {
	digest := hmacHex(h.cfg.UserIDHMACSecret, userID)
	id, err := uuid.Parse(digest[:32])
	if err != nil {
		return digest[:32]
	}
	return id.String()
}

// identify builds the request's identity inside the transaction: the
// group principals are stored data.
func (o *op) identify(userID string) (*identity, error) {
	id := &identity{userID: userID, principals: []string{Everyone}}
	if userID == "" {
		return id, nil
	}
	id.principals = []string{userID, Everyone, Authenticated}
	for _, member := range []string{userID, Authenticated} {
		groups, err := o.memberships(member)
		if err != nil {
			return nil, err
		}
		id.principals = append(id.principals, groups...)
	}
	slices.Sort(id.principals[3:])
	id.principals = append(id.principals[:3], slices.Compact(id.principals[3:])...)
	return id, nil
}

// errUnauthorized is the answer to a request that is not allowed: 401
// when anonymous (with the basicauth challenge), 403 otherwise.
func (h *Handler) errUnauthorized(id *identity) *kinto.Error {
	if id.anonymous() {
		e := kinto.NewError(http.StatusUnauthorized, kinto.ErrnoMissingAuthToken, "Please authenticate yourself to use this endpoint.")
		if h.cfg.BasicAuth {
			e.WithHeader("WWW-Authenticate", `Basic realm="Realm"`)
		}
		return e
	}
	return kinto.NewError(http.StatusForbidden, kinto.ErrnoForbidden, "This user cannot access this resource.")
}

// userInfo is the "user" member of GET /v1/.
func (h *Handler) userInfo(id *identity) map[string]any {
	info := map[string]any{"id": id.userID, "principals": id.principals}
	if h.cfg.DefaultBucket {
		info["bucket"] = h.defaultBucketID(id.userID)
	}
	return info
}
