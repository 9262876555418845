package feeds

import (
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/changegate/changegate/kinto"
)

// Feed types of CouchDB's _changes (feed=live is continuous).
const (
	feedNormal      = "normal"
	feedLongpoll    = "longpoll"
	feedContinuous  = "continuous"
	feedEventSource = "eventsource"
)

// defaultFeedLimit is CouchDB's default limit (#changes_args{} in
// couch_db.hrl); seq_interval counts down from it.
const defaultFeedLimit = 1_000_000_000_000_000

// maxFeedBody bounds a POST body: a doc_ids list, not a document store.
const maxFeedBody = 1 << 20

// CouchDB's exact 400 reasons (chttpd_db.erl parse_changes_query/1,
// couch_changes.erl, fabric_view_changes.erl), §1.2 of the reference.
const (
	reasonFeed             = "Supported `feed` types: normal, continuous, live, longpoll, eventsource"
	reasonSince            = "Malformed sequence supplied in 'since' parameter."
	reasonLimitNegative    = "The limit value should be a non-negative integer"
	reasonLimitInvalid     = "The limit parameter should be a non-negative integer"
	reasonHeartbeatNotPos  = "The heartbeat value should be a positive integer (in milliseconds)."
	reasonHeartbeatInvalid = "Invalid heartbeat value. Expecting a positive integer value (in milliseconds)."
	reasonTimeoutNegative  = "The timeout value should be a non-negative integer"
	reasonTimeoutInvalid   = "The timeout parameter should be a non-negative integer"
	reasonDocIDs           = "`doc_ids` filter parameter is not a list of doc ids."
	reasonSeqInterval      = "invalid_seq_interval"
	reasonFilterUnknown    = "unknown builtin filter name"
	reasonFilterForm       = "`filter` must be of the form `designname/filtername`"
	reasonStyle            = "Supported `style` values: main_only, all_docs"
	reasonBodyObject       = "Request body must be a JSON object"
	reasonBodyJSON         = "invalid UTF-8 JSON"
)

// feedError is a CouchDB error answer.
type feedError struct {
	status        int
	error, reason string
}

func (e *feedError) Error() string { return e.error + ": " + e.reason }

func badRequest(reason string) *feedError {
	return &feedError{status: http.StatusBadRequest, error: "bad_request", reason: reason}
}

// feedRequest is a validated _changes request.
type feedRequest struct {
	feed        string
	since       string // raw, unquoted later by the feed's seq parser
	limit       int64
	descending  bool
	timeout     time.Duration
	timeoutSet  bool
	heartbeat   time.Duration // 0: none
	includeDocs bool
	allDocs     bool
	docIDs      map[string]bool // nil: no _doc_ids filter
	seqInterval int64           // 0: every row has its seq
}

// parseFeedRequest reads the query string (keys lower-cased, unknown ones
// ignored, the last value of a repeated key winning as in CouchDB's fold)
// and, for POST, the JSON body. defaultHeartbeat is heartbeat=true.
func parseFeedRequest(r *http.Request, defaultHeartbeat time.Duration) (*feedRequest, error) {
	q := map[string]string{}
	for _, p := range kinto.ParseParams(r.URL.RawQuery) {
		q[strings.ToLower(p.Key)] = p.Value
	}
	fr := &feedRequest{feed: feedNormal, since: "0", limit: defaultFeedLimit}
	var err error
	if v, ok := q["feed"]; ok {
		if fr.feed, err = parseFeedType(v); err != nil {
			return nil, err
		}
	}
	if v, ok := q["since"]; ok {
		fr.since = v
	}
	if v, ok := q["last-event-id"]; ok {
		fr.since = v
	}
	if v := r.Header.Get("Last-Event-ID"); v != "" && fr.feed == feedEventSource {
		// COUCHDB-1852: the header overrides since, for eventsource only.
		fr.since = v
	}
	if fr.descending, err = parseBool(q, "descending"); err != nil {
		return nil, err
	}
	if fr.includeDocs, err = parseBool(q, "include_docs"); err != nil {
		return nil, err
	}
	if v, ok := q["limit"]; ok {
		if fr.limit, err = parseCount(v, reasonLimitNegative, reasonLimitInvalid); err != nil {
			return nil, err
		}
	}
	if v, ok := q["timeout"]; ok {
		ms, err := parseCount(v, reasonTimeoutNegative, reasonTimeoutInvalid)
		if err != nil {
			return nil, err
		}
		fr.timeout, fr.timeoutSet = millis(ms), true
	}
	if v, ok := q["heartbeat"]; ok {
		if fr.heartbeat, err = parseHeartbeat(v, defaultHeartbeat); err != nil {
			return nil, err
		}
	}
	if v, ok := q["style"]; ok {
		if fr.allDocs, err = parseStyle(v); err != nil {
			return nil, err
		}
	}
	if v, ok := q["seq_interval"]; ok {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return nil, badRequest(reasonSeqInterval)
		}
		fr.seqInterval = n
	}
	body, err := readFeedBody(r)
	if err != nil {
		return nil, err
	}
	if err := fr.parseFilter(q, body); err != nil {
		return nil, err
	}
	return fr, nil
}

func parseFeedType(v string) (string, error) {
	switch v {
	case feedNormal, feedLongpoll, feedContinuous, feedEventSource:
		return v, nil
	case "live":
		return feedContinuous, nil
	}
	return "", badRequest(reasonFeed)
}

// parseBool reads a boolean parameter as CouchDB's query parsers do
// (couch_mrview_http parse_boolean): true or false in any case, absent
// is false, anything else a 400 query_parse_error naming the value
// (Erlang's ~p of the string).
func parseBool(q map[string]string, key string) (bool, error) {
	v, ok := q[key]
	if !ok {
		return false, nil
	}
	switch strings.ToLower(v) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, &feedError{status: http.StatusBadRequest, error: "query_parse_error", reason: "Invalid boolean parameter: " + strconv.Quote(v)}
}

// parseCount reads a non-negative integer with CouchDB's two reasons.
func parseCount(v, negative, invalid string) (int64, error) {
	n, err := strconv.ParseInt(v, 10, 64)
	switch {
	case err != nil:
		return 0, badRequest(invalid)
	case n < 0:
		return 0, badRequest(negative)
	}
	return n, nil
}

func parseHeartbeat(v string, def time.Duration) (time.Duration, error) {
	if v == "true" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	switch {
	case err != nil:
		return 0, badRequest(reasonHeartbeatInvalid)
	case n <= 0:
		return 0, badRequest(reasonHeartbeatNotPos)
	}
	return millis(n), nil
}

// parseStyle reports style=all_docs. CouchDB crashes on other values
// (list_to_existing_atom); the reference asks for a clean 400.
func parseStyle(v string) (bool, error) {
	switch v {
	case "main_only":
		return false, nil
	case "all_docs":
		return true, nil
	}
	return false, badRequest(reasonStyle)
}

// millis converts milliseconds, saturating instead of overflowing.
func millis(ms int64) time.Duration {
	if ms > int64(time.Duration(1<<63-1)/time.Millisecond) {
		return time.Duration(1<<63 - 1)
	}
	return time.Duration(ms) * time.Millisecond
}

// readFeedBody reads a POST body: application/json or 415, empty or a
// JSON object (CouchDB's reasons), at most maxFeedBody bytes (413).
func readFeedBody(r *http.Request) (map[string]json.RawMessage, error) {
	if r.Method != http.MethodPost || r.ContentLength == 0 {
		// An empty POST behaves like GET (the reference, §1.1).
		return nil, nil
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		return nil, errBadContentType()
	}
	raw, err := readBoundedBody(r)
	switch {
	case err != nil:
		return nil, err
	case len(strings.TrimSpace(string(raw))) == 0:
		return nil, nil
	case !json.Valid(raw):
		return nil, badRequest(reasonBodyJSON)
	}
	var body map[string]json.RawMessage
	if err := json.Unmarshal(raw, &body); err != nil || body == nil {
		return nil, badRequest(reasonBodyObject)
	}
	return body, nil
}

// parseFilter applies filter: none, or _doc_ids with doc_ids from the
// POST body or the query. Other filters need design documents, which a
// Kinto store has not: CouchDB answers 400 for an unknown builtin and
// 404 for a missing design document.
func (fr *feedRequest) parseFilter(q map[string]string, body map[string]json.RawMessage) error {
	filter := q["filter"]
	switch {
	case filter == "":
		return nil
	case filter == "_doc_ids":
	case strings.HasPrefix(filter, "_"):
		return badRequest(reasonFilterUnknown)
	case strings.Count(filter, "/") != 1:
		return badRequest(reasonFilterForm)
	default:
		return &feedError{status: http.StatusNotFound, error: "not_found", reason: "missing"}
	}
	raw, ok := body["doc_ids"]
	if !ok {
		raw = json.RawMessage(q["doc_ids"])
	}
	var ids []string
	if err := json.Unmarshal(raw, &ids); err != nil || ids == nil {
		return badRequest(reasonDocIDs)
	}
	fr.docIDs = make(map[string]bool, len(ids))
	for _, id := range ids {
		fr.docIDs[id] = true
	}
	return nil
}

// live reports a feed that may wait for changes.
func (fr *feedRequest) live() bool { return fr.feed != feedNormal }

// errBadContentType is CouchDB's 415 for a body that is not JSON.
func errBadContentType() error {
	return &feedError{status: http.StatusUnsupportedMediaType, error: "bad_content_type", reason: "Content-Type must be application/json"}
}

// readBoundedBody reads a request body of at most maxFeedBody bytes,
// with CouchDB's 413 beyond and its 400 when the body cannot be read.
func readBoundedBody(r *http.Request) ([]byte, error) {
	raw, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxFeedBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return nil, &feedError{status: http.StatusRequestEntityTooLarge, error: "too_large", reason: "the request entity is too large"}
	case err != nil:
		return nil, badRequest(reasonBodyJSON)
	}
	return raw, nil
}
