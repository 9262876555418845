package kinto

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Kinto's stable application error numbers (kinto/core/errors.py).
const (
	ErrnoMissingAuthToken     = 104
	ErrnoInvalidAuthToken     = 105
	ErrnoBadJSON              = 106
	ErrnoInvalidParameters    = 107
	ErrnoMissingParameters    = 108
	ErrnoInvalidPostedData    = 109
	ErrnoInvalidResourceID    = 110
	ErrnoMissingResource      = 111
	ErrnoMissingContentLength = 112
	ErrnoRequestTooLarge      = 113
	ErrnoModifiedMeanwhile    = 114
	ErrnoMethodNotAllowed     = 115
	ErrnoVersionNotAvailable  = 116
	ErrnoClientReachedLimit   = 117
	ErrnoForbidden            = 121
	ErrnoConstraintViolated   = 122
	ErrnoBackend              = 201
	ErrnoServiceDeprecated    = 202
	ErrnoUndefined            = 999
)

// Error is Kinto's JSON error body. It is also a Go error, so the layers
// below the HTTP handler can return it and have it rendered unchanged.
type Error struct {
	Code    int    `json:"code"`
	Errno   int    `json:"errno"`
	Title   string `json:"error"`
	Message string `json:"message,omitempty"`
	Info    string `json:"info,omitempty"`
	Details any    `json:"details,omitempty"`

	// header holds response headers that belong to the error (Allow,
	// WWW-Authenticate, Retry-After, ETag on a 412...).
	header http.Header
}

func (e *Error) Error() string {
	if e.Message != "" {
		return fmt.Sprintf("%d %s: %s", e.Code, e.Title, e.Message)
	}
	return fmt.Sprintf("%d %s", e.Code, e.Title)
}

// Header returns the headers that go with the error, creating them.
func (e *Error) Header() http.Header {
	if e.header == nil {
		e.header = http.Header{}
	}
	return e.header
}

// CopyHeaderTo copies the error's headers into dst, replacing values.
func (e *Error) CopyHeaderTo(dst http.Header) {
	for k, v := range e.header {
		dst[k] = v
	}
}

// WithHeader sets a header to send with the error and returns e.
func (e *Error) WithHeader(key, value string) *Error {
	e.Header().Set(key, value)
	return e
}

// Body renders the error as Kinto does, keys in Kinto's order.
func (e *Error) Body() []byte {
	b, err := json.Marshal(e)
	if err != nil {
		// Details come from our own code; a marshal failure is a bug, but
		// the client must still get a well-formed error.
		b, _ = json.Marshal(&Error{Code: e.Code, Errno: e.Errno, Title: e.Title, Message: e.Message})
	}
	return b
}

// NewError builds an error with the standard reason phrase as its title.
func NewError(code, errno int, message string) *Error {
	return &Error{Code: code, Errno: errno, Title: http.StatusText(code), Message: message}
}

// AsError converts any error into a Kinto error: a *Error is returned as it
// is, anything else becomes a 500 errno 999 (and should be logged by the
// caller).
func AsError(err error) *Error {
	var ke *Error
	if errors.As(err, &ke) {
		return ke
	}
	return NewError(http.StatusInternalServerError, ErrnoUndefined,
		"A programmatic error occurred, developers have been informed.")
}

// ValidationDetail is one entry of a validation error's details, as
// Cornice reports them. Nameless details (Kinto's name=None) render their
// name as null.
type ValidationDetail struct {
	Location    string
	Name        string
	Description string
	Nameless    bool
}

// MarshalJSON renders {"location","name","description"} in Cornice's order.
func (d ValidationDetail) MarshalJSON() ([]byte, error) {
	var name any = d.Name
	if d.Nameless {
		name = nil
	}
	return json.Marshal(struct {
		Location    string `json:"location"`
		Name        any    `json:"name"`
		Description string `json:"description"`
	}{d.Location, name, d.Description})
}

// Invalid builds Kinto's 400 errno 107 validation error. Like Kinto's
// json_error_handler, only the first detail makes the message: the
// description alone when it already names the field, "<name> in
// <location>: <description>" otherwise, "<location>: <description>" when
// the detail has no name.
func Invalid(details ...ValidationDetail) *Error {
	return InvalidStatus(http.StatusBadRequest, details...)
}

// InvalidStatus is Invalid with another status (Cornice answers 406 and
// 415 in the same shape).
func InvalidStatus(code int, details ...ValidationDetail) *Error {
	first := details[0]
	var msg string
	switch {
	case first.Nameless:
		msg = first.Location + ": " + first.Description
	case strings.Contains(first.Description, first.Name):
		msg = first.Description
	default:
		msg = fmt.Sprintf("%s in %s: %s", first.Name, first.Location, first.Description)
	}
	return &Error{Code: code, Errno: ErrnoInvalidParameters, Title: "Invalid parameters",
		Message: msg, Details: details}
}

// Backend is Kinto's 503 for a storage failure (errno 201, the message
// of kinto.core's views/errors.py).
func Backend() *Error {
	return NewError(http.StatusServiceUnavailable, ErrnoBackend,
		"Service temporary unavailable due to overloading or maintenance, please retry later.")
}

// TooManyRequests is Kinto's 429 (errno 117, the message of kinto.core's
// errno table).
func TooManyRequests() *Error {
	return NewError(http.StatusTooManyRequests, ErrnoClientReachedLimit, "Client has sent too many requests")
}

// UnknownPath is the 404 for a URL that names no endpoint, or a
// collection that does not exist (errno 111).
func UnknownPath() *Error {
	return NewError(http.StatusNotFound, ErrnoMissingResource,
		"The resource you are looking for could not be found.")
}

// MethodNotAllowed is the 405 for a known endpoint; allow lists the
// methods it answers.
func MethodNotAllowed(allow string) *Error {
	return NewError(http.StatusMethodNotAllowed, ErrnoMethodNotAllowed,
		"Method not allowed on this endpoint.").WithHeader("Allow", allow)
}

// IsNotFound reports whether err is a Kinto 404.
func IsNotFound(err error) bool {
	var ke *Error
	return errors.As(err, &ke) && ke.Code == http.StatusNotFound
}
