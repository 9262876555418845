package render

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/changegate/changegate/kinto"
)

// DefaultKintoPrefix is where Kinto's API lives unless configured
// otherwise (the docstore default, and Kinto's own).
const DefaultKintoPrefix = "/v1"

// Routes tells Kinto routes (the docstore, or a Kinto server behind
// reverse_proxy) from the rest by URL path prefix. On Kinto routes our
// refusals use Kinto's error body and ETags stay Kinto's quoted integers.
type Routes struct {
	// Prefixes are path prefixes such as "/v1": the path itself and
	// everything below it. None means no Kinto route.
	Prefixes []string
}

// Kinto reports whether path is a Kinto route.
func (rt Routes) Kinto(path string) bool {
	for _, p := range rt.Prefixes {
		if strings.HasPrefix(path, p) && (len(path) == len(p) || path[len(p)] == '/' || strings.HasSuffix(p, "/")) {
			return true
		}
	}
	return false
}

// Error is a refusal a middleware answers instead of the upstream. It
// is a Go error, so that the Caddy glue can hand it to Caddy's error
// handling (handle_errors) with its status.
type Error struct {
	Status  int
	Message string
	// Errno is Kinto's error number for the Kinto body.
	Errno int
	// Param, when set, names the offending request parameter: Kinto then
	// answers its "Invalid parameters" shape with details.
	Param *kinto.ValidationDetail
}

func (e *Error) Error() string { return strconv.Itoa(e.Status) + " " + e.Message }

// Refuse answers the refusal: on a Kinto route it writes Kinto's JSON
// error body and returns nil; elsewhere it returns err for the caller's
// error handling to render.
func (rt Routes) Refuse(w http.ResponseWriter, r *http.Request, err *Error) error {
	if !rt.Kinto(r.URL.Path) {
		return err
	}
	var ke *kinto.Error
	if err.Param != nil {
		ke = kinto.InvalidStatus(err.Status, *err.Param)
	} else {
		ke = kinto.NewError(err.Status, err.Errno, err.Message)
	}
	kinto.WriteError(w, r, ke)
	return nil
}

// DropRepresentation deletes the headers that describe a body we do not
// send (a 304, or an error replacing the upstream's answer).
func DropRepresentation(h http.Header) {
	for _, k := range representationHeaders {
		delete(h, k)
	}
}

// representationHeaders describe the bytes of a body (RFC 9110 §8);
// Go's own 304 drops the first three (net/http fs.go writeNotModified).
var representationHeaders = []string{
	"Content-Type", "Content-Length", "Content-Encoding", "Content-Language",
	"Content-Range", "Accept-Ranges", "Transfer-Encoding", "Trailer",
}
