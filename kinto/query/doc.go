// Package query implements the query string of Kinto's plural endpoints
// (GET, HEAD and DELETE on a list): field filters and their operator
// prefixes, _since/_before, _sort, _limit, the _token continuation token
// and the _fields projection.
//
// The reference is Kinto 26.3.1 with its memory storage backend, the one
// that produced the project's reference transcripts:
//
//   - the querystring schema (kinto/core/resource/schema.py, with
//     colander's Integer, String and Sequence types) decides how values
//     are decoded and which errors are reported, word for word;
//   - Resource._extract_filters, _extract_sorting, _extract_limit,
//     _extract_partial_fields and the pagination token helpers
//     (kinto/core/resource/__init__.py) turn the values into filters,
//     sorting, a page size, a projection and pagination rules;
//   - apply_filters, schwartzian_transform and apply_sorting
//     (kinto/core/storage/memory.py) define how JSON values compare.
//
// Values are JSON decoded as Kinto does with python-rapidjson in native
// number mode: integers between -2**63 and 2**64-1 stay integers, larger
// ones become floats, and a number too big for a float leaves the text a
// string. Objects are map[string]any as Decode returns them, numbers as
// json.Number.
//
// testdata/kinto_golden.json holds answers computed by Kinto's own code
// (run once outside this repository); TestKintoGolden replays them.
//
// Deliberate differences, where Kinto fails with a 500 or is plainly
// wrong:
//
//   - filters are and-ed; Kinto's memory backend lets has_ overwrite the
//     filters before it;
//   - values Python cannot order (two different objects, arrays whose
//     first differing elements have different types) get a fixed order
//     instead of a TypeError;
//   - like_ on a non-string or absent field does not match instead of
//     failing, and a like_ pattern Go's regexp cannot compile is a 400;
//   - a quoted timestamp in gt_last_modified and the like compares as the
//     integer (as in PostgreSQL), not as a string below every number;
//   - a _token whose offset is not an integer is invalid content;
//   - url.Values has no order: among several invalid filters the first by
//     name is reported, not the first in the query string; unknown
//     _fields are listed sorted, not in Python's set order.
package query
