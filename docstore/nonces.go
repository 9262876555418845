package docstore

import (
	"net/url"
	"sync"
	"time"

	"github.com/changegate/changegate/kinto/query"
)

// tokenValidity is how long a DELETE pagination token stays usable
// (Kinto's pagination_token_validity_seconds).
const tokenValidity = 10 * time.Minute

// nonceCache remembers the nonces of the pagination tokens handed out by
// DELETE on lists, so that each works once and only for a while.
type nonceCache struct {
	mu      sync.Mutex
	expires map[string]time.Time
}

// issue remembers the nonce of the token in a Next-Page URL.
func (c *nonceCache) issue(nextPage string) {
	u, err := url.Parse(nextPage)
	if err != nil {
		return
	}
	nonce := query.TokenNonce(u.Query().Get("_token"))
	if nonce == "" {
		return
	}
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.expires == nil {
		c.expires = map[string]time.Time{}
	}
	for n, exp := range c.expires {
		if now.After(exp) {
			delete(c.expires, n)
		}
	}
	c.expires[nonce] = now.Add(tokenValidity)
}

// use consumes a nonce, reporting whether it was valid.
func (c *nonceCache) use(nonce string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	exp, ok := c.expires[nonce]
	delete(c.expires, nonce)
	return ok && time.Now().Before(exp)
}
