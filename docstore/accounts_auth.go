package docstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"sync/atomic"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/tidwall/gjson"
	"golang.org/x/crypto/bcrypt"
)

// verifiedCacheSize bounds the cache of verified account credentials.
const verifiedCacheSize = 10000

// verifiedCache remembers account credentials that passed bcrypt, so
// that a request does not pay a bcrypt comparison (tens of milliseconds
// by design) each time. Entries are keyed by a salted SHA-256 of
// id and password, never the password itself; they expire after the
// TTL unless used (Kinto's account_cache_ttl_seconds, refreshed on each
// use) and are dropped when the account changes or is deleted.
type verifiedCache struct {
	salt    [32]byte
	ttl     time.Duration
	entries *lru.Cache[[32]byte, *verifiedEntry]
}

// verifiedEntry is one verified id and password.
type verifiedEntry struct {
	id string
	// expires is in Unix nanoseconds.
	expires atomic.Int64
}

func newVerifiedCache(ttl time.Duration) (*verifiedCache, error) {
	entries, err := lru.New[[32]byte, *verifiedEntry](verifiedCacheSize)
	if err != nil {
		return nil, err
	}
	c := &verifiedCache{ttl: ttl, entries: entries}
	_, err = rand.Read(c.salt[:])
	return c, err
}

// key is the cache key of id and password.
func (c *verifiedCache) key(id, password string) [32]byte {
	h := sha256.New()
	h.Write(c.salt[:])
	h.Write([]byte(id))
	h.Write([]byte{0})
	h.Write([]byte(password))
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// verified reports whether id and password were verified within the
// TTL, refreshing it.
func (c *verifiedCache) verified(k [32]byte, now time.Time) bool {
	e, ok := c.entries.Get(k)
	if !ok || now.UnixNano() > e.expires.Load() {
		return false
	}
	e.expires.Store(now.Add(c.ttl).UnixNano())
	return true
}

// remember records a successful verification.
func (c *verifiedCache) remember(k [32]byte, id string, now time.Time) {
	e := &verifiedEntry{id: id}
	e.expires.Store(now.Add(c.ttl).UnixNano())
	c.entries.Add(k, e)
}

// forget drops every verified password of account id. Account writes
// are rare next to reads, so a walk of the cache is cheap enough.
func (c *verifiedCache) forget(id string) {
	if c == nil {
		return
	}
	for _, k := range c.entries.Keys() {
		if e, ok := c.entries.Peek(k); ok && e.id == id {
			c.entries.Remove(k)
		}
	}
}

// authenticateAccount returns "account:<user>" when user and password
// are those of a stored account. Kinto's accounts policy comes before
// basicauth: credentials that are not an account's fall through to it.
func (h *Handler) authenticateAccount(ctx context.Context, user, password string) (string, bool) {
	if !accountIDPattern.MatchString(user) {
		return "", false
	}
	k := h.verified.key(user, password)
	now := time.Now()
	if h.verified.verified(k, now) {
		return accountPrefix + user, true
	}
	var hash string
	err := h.store.read(ctx, func(o *op) error {
		hash = ""
		obj, err := o.get(ref{Kind: KindAccount, ID: user})
		if obj != nil {
			hash = gjson.GetBytes(obj.Data, "password").Str
		}
		return err
	})
	if err != nil {
		h.logger.Error("reading an account to authenticate", "account", user, "error", err)
		return "", false
	}
	if hash == "" || bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return "", false
	}
	h.verified.remember(k, user, now)
	return accountPrefix + user, true
}
