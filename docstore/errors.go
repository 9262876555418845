package docstore

import (
	"net/http"

	"github.com/changegate/changegate/kinto"
)

// notFound is Kinto's 404 for a missing object (errno 110), with the id and
// resource name in details.
func notFound(kind, id string) *kinto.Error {
	e := kinto.NewError(http.StatusNotFound, kinto.ErrnoInvalidResourceID, "")
	e.Details = map[string]string{"id": id, "resource_name": kind}
	return e
}

// parentNotFound is Kinto's 404 for a missing parent object (errno 111).
func parentNotFound(kind, id string) *kinto.Error {
	e := kinto.NewError(http.StatusNotFound, kinto.ErrnoMissingResource, "")
	e.Details = map[string]string{"id": id, "resource_name": kind}
	return e
}

// errUnknownPath is the 404 for a URL that names no endpoint.
func errUnknownPath() *kinto.Error { return kinto.UnknownPath() }

// errMethodNotAllowed is the 405 for a known endpoint; allow lists the
// methods it answers.
func errMethodNotAllowed(allow string) *kinto.Error { return kinto.MethodNotAllowed(allow) }
