package query

import (
	"slices"
	"strings"

	"github.com/changegate/changegate/kinto"
)

// Error is an invalid query string, as Kinto reports it in a 400 errno 107
// "Invalid parameters" answer. Location, Name and Description are the
// first entry of the answer's details and make its message; Others holds
// the further entries, when the schema rejected several parameters at
// once. Kinto sorts the entries by name.
type Error struct {
	Location    string
	Name        string
	Description string
	// Nameless is set when Kinto reports the name as null (errors about
	// _sort and _token); Name is then empty.
	Nameless bool
	Others   []Error
}

// Error returns Kinto's message for the error.
func (e *Error) Error() string {
	return e.Message()
}

// Message is the "message" of Kinto's answer (kinto.Invalid's rule, on
// the first entry).
func (e *Error) Message() string { return e.Kinto().Message }

// Details returns every entry of the answer's details, e first.
func (e *Error) Details() []Error {
	first := *e
	first.Others = nil
	return append([]Error{first}, e.Others...)
}

// Kinto is the error as Kinto answers it: 400 errno 107 "Invalid
// parameters", every entry in details.
func (e *Error) Kinto() *kinto.Error {
	details := e.Details()
	out := make([]kinto.ValidationDetail, len(details))
	for i, d := range details {
		out[i] = kinto.ValidationDetail{Location: d.Location, Name: d.Name, Description: d.Description, Nameless: d.Nameless}
	}
	return kinto.Invalid(out...)
}

// MarshalJSON renders the whole 400 body as Kinto does.
func (e *Error) MarshalJSON() ([]byte, error) { return e.Kinto().Body(), nil }

// invalid builds a querystring error about one parameter.
func invalid(name, description string) *Error {
	return &Error{Location: "querystring", Name: name, Description: description}
}

// invalidValue is Kinto's generic filter error.
func invalidValue(param string) *Error {
	return invalid(param, "Invalid value for "+param)
}

// nameless builds a querystring error that Kinto reports without a name.
func nameless(description string) *Error {
	return &Error{Location: "querystring", Description: description, Nameless: true}
}

// joinErrors sorts errors by name, as Kinto's error handler does, and
// folds them into one Error.
func joinErrors(errs []*Error) *Error {
	slices.SortStableFunc(errs, func(a, b *Error) int { return strings.Compare(a.sortName(), b.sortName()) })
	first := *errs[0]
	for _, e := range errs[1:] {
		first.Others = append(first.Others, *e)
	}
	return &first
}

// sortName is the key Kinto sorts errors by: str(name), "None" for null.
func (e *Error) sortName() string {
	if e.Nameless {
		return "None"
	}
	return e.Name
}

// ErrTokenReused is the error Kinto gives for a DELETE whose _token nonce
// is unknown to its cache (already used or expired). Checking the nonce is
// the caller's job: see Query.Nonce and TokenNonce.
func ErrTokenReused() *Error {
	return nameless("_token was already used or has expired.")
}
