package changes

import (
	"math/big"
	"regexp"
	"slices"
	"strings"

	"github.com/changegate/changegate/kinto"
)

// The changeset querystring schema of the reference plugin
// (ChangeSetQuerystring, validated by Cornice with colander): _since,
// _expected (required), _limit, bucket and collection, anything else
// allowed.

// Bounds of the reference schema: _since must be a timestamp before
// 2100-01-01, _limit at most PostgreSQL's 2**63.
const maxSince = 4102444800000

var maxLimit = new(big.Int).Lsh(big.NewInt(1), 63)

// sinceText is QuotedTimestamp's regex, ^"([0-9]+?)"(?!\n)$|^([0-9]+?)(?!\n)$
// with re.match: ASCII digits, optionally quoted, nothing after.
var sinceText = regexp.MustCompile(`^(?:"[0-9]+"|[0-9]+)$`)

const sinceMessage = "The value should be integer, optionally between double quotes."

// changesetQuery is a validated changeset querystring.
type changesetQuery struct {
	// expected is _expected as sent (never empty).
	expected string
	// since is _since without quotes; hasSince reports it was given.
	since    int64
	hasSince bool
	// limit is _limit as given (0 when absent); hasLimit reports it.
	limit    int64
	hasLimit bool
	// bucket and collection are the monitor's equality filters, "" when
	// absent.
	bucket, collection string
}

// parseChangesetQuery validates ps as the reference schema does and
// returns Kinto's 400 with every failing parameter. Like Kinto's
// json_error_handler, the message names the failing parameter that sorts
// first while the details keep the schema's order.
func parseChangesetQuery(ps kinto.Params) (changesetQuery, error) {
	var q changesetQuery
	var details []kinto.ValidationDetail
	fail := func(name, description string) {
		details = append(details, kinto.ValidationDetail{Location: "querystring", Name: name, Description: description})
	}
	if v, ok := stringParam(ps, "_since", fail); ok {
		q.since, q.hasSince = parseSince(v, fail)
	}
	if v, ok := stringParam(ps, "_expected", fail); ok {
		q.expected = v
	} else if len(ps.All("_expected")) < 2 {
		fail("_expected", "Required")
	}
	q.limit, q.hasLimit = parseLimit(ps, fail)
	q.bucket, _ = stringParam(ps, "bucket", fail)
	q.collection, _ = stringParam(ps, "collection", fail)
	if len(details) == 0 {
		return q, nil
	}
	first := slices.MinFunc(details, func(a, b kinto.ValidationDetail) int { return strings.Compare(a.Name, b.Name) })
	e := kinto.Invalid(first)
	e.Details = details
	return q, e
}

// stringParam is colander's String: absent or empty is dropped (false),
// a repeated parameter (a list, once WebOb's mixed() is applied) is not
// a string.
func stringParam(ps kinto.Params, name string, fail func(name, description string)) (string, bool) {
	values := ps.All(name)
	switch {
	case len(values) > 1:
		fail(name, pyListRepr(values)+" is not a string: {"+pyRepr(name)+": ''}")
		return "", false
	case len(values) == 0 || values[0] == "":
		return "", false
	}
	return values[0], true
}

// parseSince is QuotedTimestamp: the regex, then the 0..2100 range.
func parseSince(v string, fail func(name, description string)) (int64, bool) {
	if !sinceText.MatchString(v) {
		fail("_since", sinceMessage)
		return 0, false
	}
	n, _ := new(big.Int).SetString(strings.Trim(v, `"`), 10)
	if n.Cmp(big.NewInt(maxSince)) > 0 {
		fail("_since", n.String()+" is greater than maximum value 4102444800000")
		return 0, false
	}
	return n.Int64(), true
}

// parseLimit is colander's Integer (Python's int()) with the 0..2**63
// range.
func parseLimit(ps kinto.Params, fail func(name, description string)) (int64, bool) {
	values := ps.All("_limit")
	var text string
	switch {
	case len(values) == 0 || (len(values) == 1 && values[0] == ""):
		return 0, false
	case len(values) > 1:
		text = pyListRepr(values)
	default:
		text = values[0]
	}
	n, ok := kinto.PyInt(text)
	if !ok || len(values) > 1 {
		fail("_limit", `"`+text+`" is not a number`)
		return 0, false
	}
	if n.Sign() < 0 {
		fail("_limit", n.String()+" is less than minimum value 0")
		return 0, false
	}
	if n.Cmp(maxLimit) > 0 {
		fail("_limit", n.String()+" is greater than maximum value "+maxLimit.String())
		return 0, false
	}
	if !n.IsInt64() {
		// Exactly 2**63: larger than any bound it will be capped to.
		return 1<<63 - 1, true
	}
	return n.Int64(), true
}
