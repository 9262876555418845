package kinto

import (
	"net/http"
	"strconv"
	"strings"
)

// Preconditions are a request's validated If-Match and If-None-Match
// headers: each a timestamp, "*" (any) or absent.
type Preconditions struct {
	ifMatch, ifNoneMatch precondition
}

type precondition struct {
	set bool
	any bool
	ts  int64
}

// ParsePreconditions validates the precondition headers as Kinto does:
// "*" or a quoted integer (HeaderQuotedInteger), else a 400 *Error.
func ParsePreconditions(h http.Header) (Preconditions, error) {
	var p Preconditions
	var err error
	if p.ifMatch, err = parsePrecondition(h, "If-Match"); err != nil {
		return p, err
	}
	p.ifNoneMatch, err = parsePrecondition(h, "If-None-Match")
	return p, err
}

func parsePrecondition(h http.Header, name string) (precondition, error) {
	v := strings.TrimSpace(h.Get(name))
	if v == "" {
		return precondition{}, nil
	}
	if v == "*" {
		return precondition{set: true, any: true}, nil
	}
	if len(v) > 2 && v[0] == '"' && v[len(v)-1] == '"' {
		if ts, err := strconv.ParseInt(v[1:len(v)-1], 10, 64); err == nil && ts >= 0 {
			return precondition{set: true, ts: ts}, nil
		}
	}
	return precondition{}, Invalid(ValidationDetail{Location: "header", Name: name,
		Description: "The value should be integer between double quotes."})
}

// Set reports whether the request carries either header.
func (p Preconditions) Set() bool { return p.ifMatch.set || p.ifNoneMatch.set }

// NotModified reports whether If-None-Match names the current timestamp.
func (p Preconditions) NotModified(current int64) bool {
	return p.ifNoneMatch.set && !p.ifNoneMatch.any && p.ifNoneMatch.ts == current
}

// Failed applies Kinto's 412 rules: If-None-Match: * fails on an existing
// object, If-Match fails on a missing object or another timestamp.
func (p Preconditions) Failed(exists bool, current int64) bool {
	switch {
	case p.ifNoneMatch.any && exists:
		return true
	case p.ifMatch.set && !exists:
		return true
	case p.ifMatch.set && !p.ifMatch.any:
		return p.ifMatch.ts != current
	}
	return false
}

// ModifiedMeanwhile is the 412 (errno 114) of a failed precondition.
func ModifiedMeanwhile() *Error {
	return NewError(http.StatusPreconditionFailed, ErrnoModifiedMeanwhile, "Resource was modified meanwhile")
}
