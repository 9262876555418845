package conditional

import (
	"net/http"
	"strings"
	"time"
)

// Outcome is the result of evaluating a request's preconditions.
type Outcome int

const (
	// Proceed: perform the method, answer as usual.
	Proceed Outcome = iota
	// NotModified: answer 304 (If-None-Match or If-Modified-Since on GET
	// or HEAD).
	NotModified
	// Failed: answer 412 Precondition Failed.
	Failed
)

// Validators describe the selected representation: its ETag (without
// any encode suffix) and its modification date.
type Validators struct {
	// ETag is the entity-tag, when HasTag.
	ETag   Tag
	HasTag bool
	// LastModified is zero when unknown.
	LastModified time.Time
}

// ValidatorsOf reads the validators of a response.
func ValidatorsOf(h http.Header) Validators {
	var v Validators
	if t, ok := ParseTag(h.Get("Etag")); ok {
		v.ETag, _ = StripEncoding(t)
		v.HasTag = true
	}
	if lm := h.Get("Last-Modified"); lm != "" {
		if t, err := http.ParseTime(lm); err == nil {
			v.LastModified = t
		}
	}
	return v
}

// Evaluate applies RFC 9110 §13.2.2 to a request whose response would
// otherwise be 2xx for a representation that exists (callers must not
// evaluate for other statuses, §13.2.1):
//
//  1. If-Match (strong comparison) false → 412;
//  2. else If-Unmodified-Since (valid date, known Last-Modified) false →
//     412;
//  3. If-None-Match (weak comparison) false → 304 for GET/HEAD, 412 for
//     other methods;
//  4. else, for GET/HEAD, If-Modified-Since false → 304.
//
// Dates are compared at one-second resolution; invalid dates, lists of
// dates and If-Modified-Since on other methods are ignored. Tags in the
// request are compared without encode suffixes.
func Evaluate(method string, req http.Header, v Validators) Outcome {
	safe := method == http.MethodGet || method == http.MethodHead
	if im, ok := field(req, "If-Match"); ok {
		if !matchesAny(im, v, StrongMatch) {
			return Failed
		}
	} else if ius, ok := dateField(req, "If-Unmodified-Since"); ok && !v.LastModified.IsZero() {
		if v.LastModified.Truncate(time.Second).After(ius) {
			return Failed
		}
	}
	if inm, ok := field(req, "If-None-Match"); ok {
		if matchesAny(inm, v, WeakMatch) {
			if safe {
				return NotModified
			}
			return Failed
		}
		return Proceed
	}
	if !safe {
		return Proceed
	}
	if ims, ok := dateField(req, "If-Modified-Since"); ok && !v.LastModified.IsZero() {
		if !v.LastModified.Truncate(time.Second).After(ims) {
			return NotModified
		}
	}
	return Proceed
}

// matchesAny reports whether the list value matches the representation:
// "*" always does (it exists), tags by the given comparison. It reads
// the members as ParseList does, without building the list.
func matchesAny(list string, v Validators, match func(a, b Tag) bool) bool {
	for {
		list = strings.TrimLeft(list, " \t,")
		switch {
		case list == "":
			return false
		case list[0] == '*':
			return true
		case !v.HasTag:
			return false
		}
		t, rest, ok := scanTag(list)
		if !ok {
			return false
		}
		if t, _ = StripEncoding(t); match(t, v.ETag) {
			return true
		}
		list = rest
	}
}

// field returns a header's field value, the lines of a repeated header
// joined as one list. name must be in canonical form.
func field(h http.Header, name string) (string, bool) {
	vs := h[name]
	switch len(vs) {
	case 0:
		return "", false
	case 1:
		return vs[0], vs[0] != ""
	}
	joined := vs[0]
	for _, v := range vs[1:] {
		joined += ", " + v
	}
	return joined, true
}

// dateField returns a date header that holds exactly one valid
// HTTP-date. name must be in canonical form.
func dateField(h http.Header, name string) (time.Time, bool) {
	vs := h[name]
	if len(vs) != 1 {
		return time.Time{}, false
	}
	t, err := http.ParseTime(vs[0])
	return t, err == nil
}
