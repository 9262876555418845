package ratelimit

import (
	"fmt"
	"regexp"
	"strconv"
	"time"
)

// validName keeps zone names safe inside Redis keys and Structured Field
// strings (RFC 9651 §3.3.3), with no escaping needed.
var validName = regexp.MustCompile(`^[A-Za-z0-9_.-]{1,64}$`)

// validMethod accepts the upper-case method names; methods are
// case-sensitive (RFC 9110 §9.1), so "get" would never match a request.
var validMethod = regexp.MustCompile(`^[A-Z]{1,32}$`)

// Policy is one limit of a zone, as the RateLimit-Policy header names it.
type Policy struct {
	Name  string
	Limit Limit

	keyPrefix string // zone:method: in front of the client key
	events    string // Limit.Events in decimal
	quoted    string // the name as a Structured Field string
	item      string // the RateLimit-Policy list item

	// The fields after a client's first event from a full budget (Events-1
	// remaining, unless the window's rounding leaves it full), ready made.
	first          State
	firstRemaining string // X-RateLimit-Remaining
	firstItem      string // the RateLimit list item
}

func newPolicy(zone, method string, l Limit) (*Policy, error) {
	if err := l.Validate(); err != nil {
		return nil, err
	}
	events := strconv.FormatInt(l.Events, 10)
	quoted := `"` + zone + `"` // validName needs no escapes
	p := &Policy{
		Name:      zone,
		Limit:     l,
		keyPrefix: zone + ":" + method + ":",
		events:    events,
		quoted:    quoted,
		// draft-ietf-httpapi-ratelimit-headers §2.1: q is the quota, w the
		// window in seconds.
		item: fmt.Sprintf("%s;q=%s;w=%d", quoted, events, l.Window/time.Second),
	}
	p.first = l.state(l.interval(), true)
	p.firstRemaining = strconv.FormatInt(p.first.Remaining, 10)
	p.firstItem = string(appendRateLimitItem(nil, p, p.first))
	return p, nil
}

// remaining is the X-RateLimit-Remaining value of a state.
func (p *Policy) remaining(s State) string {
	if s.Remaining == p.first.Remaining {
		return p.firstRemaining
	}
	return strconv.FormatInt(s.Remaining, 10)
}

// rateLimitItem is the RateLimit list item of a state.
func (p *Policy) rateLimitItem(s State) string {
	if s.Remaining == p.first.Remaining && nextSeconds(s.Next) == nextSeconds(p.first.Next) {
		return p.firstItem
	}
	var buf [64]byte
	return string(appendRateLimitItem(buf[:0], p, s))
}

// Zone is a named limit with optional per-method limits. Each method with
// its own limit has its own budget per client (Eve's RATE_LIMIT_<METHOD>
// documented as "per-user/method"); the other methods share the default
// limit's budget, or are not limited by the zone when it has none.
type Zone struct {
	name    string
	def     *Policy
	methods map[string]*Policy
}

// NewZone validates and builds a zone. def may be nil when methods has at
// least one limit.
func NewZone(name string, def *Limit, methods map[string]Limit) (*Zone, error) {
	if !validName.MatchString(name) {
		return nil, fmt.Errorf("zone name %q: use 1 to 64 letters, digits, '_', '.' or '-'", name)
	}
	if def == nil && len(methods) == 0 {
		return nil, fmt.Errorf("zone %s: no limit (set events and window, or a per-method limit)", name)
	}
	z := &Zone{name: name, methods: make(map[string]*Policy, len(methods))}
	var err error
	if def != nil {
		if z.def, err = newPolicy(name, "*", *def); err != nil {
			return nil, fmt.Errorf("zone %s: %w", name, err)
		}
	}
	for method, l := range methods {
		if !validMethod.MatchString(method) {
			return nil, fmt.Errorf("zone %s: invalid method %q (methods are upper case)", name, method)
		}
		if z.methods[method], err = newPolicy(name, method, l); err != nil {
			return nil, fmt.Errorf("zone %s, method %s: %w", name, method, err)
		}
	}
	return z, nil
}

// Name is the zone's name.
func (z *Zone) Name() string { return z.name }

// Policy returns the limit of requests with this method, nil when no
// limit of the zone applies to it.
func (z *Zone) Policy(method string) *Policy {
	if p, ok := z.methods[method]; ok {
		return p
	}
	return z.def
}

// Hit is the hit a client makes under the policy. The client key is tag
// followed by client: tag tells keys of different kinds apart (Middleware
// tags a key with the index of the rule's key function it comes from).
func (p *Policy) Hit(tag, client string) Hit {
	return Hit{Key: p.keyPrefix + tag + client, Limit: p.Limit}
}
