package docstore

import (
	"strconv"
	"unicode/utf8"

	"github.com/changegate/changegate/kinto"
)

// batchEnvelopeDepth is how deep a sub-request body sits in a batch:
// {"requests": [{"body": {...}}]} puts the body's own braces at level 4
// instead of 1.
const batchEnvelopeDepth = 3

// checkBody refuses, before any decoding, a request body that is not
// UTF-8 or that nests deeper than MaxDepth. Kinto answers 400 to invalid
// UTF-8 where encoding/json would silently store U+FFFD. Depth is
// checked first and cheaply because every later step (decoding, JSON
// Patch, indenting for ?pretty) costs more per level, some of them
// quadratically. A batch envelope gets the levels it adds; each of its
// sub-request bodies is then held to MaxDepth on its own.
func (h *Handler) checkBody(body []byte, batch bool) *kinto.Error {
	if !utf8.Valid(body) {
		return kinto.Invalid(kinto.ValidationDetail{Location: "body", Description: "Invalid JSON: the body is not valid UTF-8", Nameless: true})
	}
	limit := h.cfg.MaxDepth
	if batch {
		limit += batchEnvelopeDepth
	}
	if jsonDepthExceeds(body, limit) {
		return h.tooDeep()
	}
	return nil
}

// tooDeep is the answer to a body nested deeper than MaxDepth.
func (h *Handler) tooDeep() *kinto.Error {
	return kinto.Invalid(kinto.ValidationDetail{Location: "body",
		Description: "JSON nested deeper than the limit of " + strconv.Itoa(h.cfg.MaxDepth) + " levels (max_depth)", Nameless: true})
}

// jsonDepthExceeds reports whether the arrays and objects of src nest
// deeper than limit. It only counts brackets outside strings and stops at
// the first level beyond the limit, so it costs one pass and no memory;
// src need not be valid JSON (the decoder judges that afterwards).
func jsonDepthExceeds(src []byte, limit int) bool {
	depth, inString := 0, false
	for i := 0; i < len(src); i++ {
		c := src[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '[', '{':
			if depth++; depth > limit {
				return true
			}
		case ']', '}':
			depth--
		}
	}
	return false
}

// checkClientTimestamp refuses a last_modified in data later than the
// server clock plus TimestampTolerance. Kinto keeps any newer client
// timestamp, and every later write of the list is stamped after it: one
// far-future value breaks _since polling of that list, and of every list
// through the monitor. Past values keep Kinto's behaviour (imports keep
// their timestamps). existing is the object data was merged into, whose
// own stored timestamp is not the client's.
func (h *Handler) checkClientTimestamp(existing *Object, data []byte) error {
	ts := clientTimestamp(findMember(members(data), "last_modified"))
	if existing != nil && ts == existing.LastModified {
		return nil
	}
	return h.checkFuture(ts, "body", "data.last_modified")
}

// checkFuture applies the tolerance to one client timestamp.
func (h *Handler) checkFuture(ts int64, location, name string) error {
	limit := h.store.nowMillis() + h.cfg.TimestampTolerance.Milliseconds()
	if ts <= limit {
		return nil
	}
	return kinto.Invalid(kinto.ValidationDetail{Location: location, Name: name,
		Description: strconv.FormatInt(ts, 10) + " is later than the server clock plus " +
			h.cfg.TimestampTolerance.String() + " (timestamp_tolerance)"})
}
