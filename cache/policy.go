// Package cache holds changegate's HTTP caching: the Cache-Control
// policy middleware (policy*.go) and the LRU of rendered responses
// (lru.go).
package cache

import (
	"strconv"
	"strings"
	"time"
)

// Directives are the Cache-Control directives a policy emits (RFC 9111
// §5.2.2, RFC 5861, RFC 8246). Nil durations are left out.
type Directives struct {
	MaxAge               *time.Duration
	SMaxAge              *time.Duration
	StaleWhileRevalidate *time.Duration
	StaleIfError         *time.Duration
	Public               bool
	Private              bool
	NoStore              bool
	MustRevalidate       bool
	Immutable            bool
}

// Merge returns d with every field set in over replacing d's.
func (d Directives) Merge(over Directives) Directives {
	for _, f := range [...]struct{ dst, src **time.Duration }{
		{&d.MaxAge, &over.MaxAge}, {&d.SMaxAge, &over.SMaxAge},
		{&d.StaleWhileRevalidate, &over.StaleWhileRevalidate}, {&d.StaleIfError, &over.StaleIfError},
	} {
		if *f.src != nil {
			*f.dst = *f.src
		}
	}
	if over.Public || over.Private {
		d.Public, d.Private = over.Public, over.Private
	}
	d.NoStore = d.NoStore || over.NoStore
	d.MustRevalidate = d.MustRevalidate || over.MustRevalidate
	d.Immutable = d.Immutable || over.Immutable
	return d
}

// ForAuthenticated returns the directives for a request with
// credentials: private, so that no shared cache keeps one user's answer
// for another (s-maxage and public dropped, being for shared caches).
func (d Directives) ForAuthenticated() Directives {
	if d.NoStore {
		return d
	}
	d.Public, d.Private, d.SMaxAge = false, true, nil
	return d
}

// Value renders the Cache-Control value. no-store stands alone: it
// makes every other directive moot.
func (d Directives) Value() string {
	if d.NoStore {
		return "no-store"
	}
	var parts []string
	switch {
	case d.Private:
		parts = append(parts, "private")
	case d.Public:
		parts = append(parts, "public")
	}
	for _, f := range [...]struct {
		name string
		d    *time.Duration
	}{
		{"max-age", d.MaxAge}, {"s-maxage", d.SMaxAge},
		{"stale-while-revalidate", d.StaleWhileRevalidate}, {"stale-if-error", d.StaleIfError},
	} {
		if f.d != nil {
			parts = append(parts, f.name+"="+strconv.FormatInt(seconds(*f.d), 10))
		}
	}
	if d.MustRevalidate {
		parts = append(parts, "must-revalidate")
	}
	if d.Immutable {
		parts = append(parts, "immutable")
	}
	return strings.Join(parts, ", ")
}

// seconds is delta-seconds: whole, never negative (RFC 9111 §1.2.2).
func seconds(d time.Duration) int64 {
	if d < 0 {
		return 0
	}
	return int64(d / time.Second)
}
