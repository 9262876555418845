// Package cors decides the Access-Control-Allow-Origin of an answer, with
// one rule for every changegate module that writes CORS headers.
//
// The rule: by default any origin may read answers, but without
// credentials ("Access-Control-Allow-Origin: *" and no
// Access-Control-Allow-Credentials), so a hostile page cannot make the
// browser attach cookies or cached HTTP credentials and read the result
// (Fetch standard, CORS protocol and credentials). Scripts that set
// Authorization themselves, as Kinto's JavaScript client does, still
// work. Only origins an operator lists are echoed, and they alone get
// credentials.
package cors

import (
	"net/http"
	"path"
)

// Policy is a set of allowed origins.
type Policy struct {
	// anyOrigin allows every origin without credentials.
	anyOrigin bool
	// patterns are explicit origins (shell patterns, path.Match)
	// allowed with credentials.
	patterns []string
}

// New returns the policy of a cors_origins setting: nil or empty means
// "*"; "*" in the list allows any origin without credentials; every other
// entry is an origin pattern (https://app.example, https://*.example)
// echoed with credentials.
func New(origins []string) Policy {
	if len(origins) == 0 {
		return Policy{anyOrigin: true}
	}
	var p Policy
	for _, o := range origins {
		if o == "*" {
			p.anyOrigin = true
			continue
		}
		p.patterns = append(p.patterns, o)
	}
	return p
}

// Apply sets the CORS origin fields of an answer to a request that came
// with the Origin header origin.
func (p Policy) Apply(origin string, hd http.Header) {
	if len(p.patterns) > 0 {
		// The answer depends on Origin: a shared cache must not give
		// one origin's answer to another (Fetch standard, CORS and
		// HTTP caching).
		hd.Add("Vary", "Origin")
	}
	if origin == "" {
		return
	}
	if p.matches(origin) {
		hd.Set("Access-Control-Allow-Origin", origin)
		hd.Set("Access-Control-Allow-Credentials", "true")
		return
	}
	if p.anyOrigin {
		hd.Set("Access-Control-Allow-Origin", "*")
		hd.Del("Access-Control-Allow-Credentials")
	}
}

// Allows reports whether origin may read answers at all.
func (p Policy) Allows(origin string) bool { return p.anyOrigin || p.matches(origin) }

// matches reports whether origin is one of the explicit origins.
func (p Policy) matches(origin string) bool {
	for _, pattern := range p.patterns {
		if ok, _ := path.Match(pattern, origin); ok {
			return true
		}
	}
	return false
}
