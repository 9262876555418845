package query

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
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

// Message is the "message" of Kinto's answer: the description alone when
// it contains the name, else "<name> in <location>: <description>", or
// "<location>: <description>" for a nameless error.
func (e *Error) Message() string {
	switch {
	case e.Nameless:
		return e.Location + ": " + e.Description
	case strings.Contains(e.Description, e.Name):
		return e.Description
	}
	return fmt.Sprintf("%s in %s: %s", e.Name, e.Location, e.Description)
}

// Details returns every entry of the answer's details, e first.
func (e *Error) Details() []Error {
	first := *e
	first.Others = nil
	return append([]Error{first}, e.Others...)
}

// MarshalJSON renders the whole 400 body as Kinto does.
func (e *Error) MarshalJSON() ([]byte, error) {
	details := make([]detailJSON, 0, 1+len(e.Others))
	for _, d := range e.Details() {
		var name any = d.Name
		if d.Nameless {
			name = nil
		}
		details = append(details, detailJSON{d.Location, name, d.Description})
	}
	return json.Marshal(struct {
		Code    int          `json:"code"`
		Errno   int          `json:"errno"`
		Title   string       `json:"error"`
		Message string       `json:"message"`
		Details []detailJSON `json:"details"`
	}{400, 107, "Invalid parameters", e.Message(), details})
}

// detailJSON is one entry of details, in Cornice's key order.
type detailJSON struct {
	Location    string `json:"location"`
	Name        any    `json:"name"`
	Description string `json:"description"`
}

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
