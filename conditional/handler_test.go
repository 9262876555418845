package conditional

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/changegate/changegate/render"
)

// upstream is a next handler answering status with headers (name, value
// pairs) and body; it records the request it got.
type upstream struct {
	status int
	header []string
	body   string
	got    *http.Request
}

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) error {
	u.got = r
	for i := 0; i < len(u.header); i += 2 {
		w.Header().Set(u.header[i], u.header[i+1])
	}
	if u.body != "" && w.Header().Get("Content-Length") == "" {
		w.Header().Set("Content-Length", strconv.Itoa(len(u.body)))
	}
	w.WriteHeader(u.status)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(u.body))
	}
	return nil
}

// run sends one request through h to u; headers are name, value pairs.
func run(t *testing.T, h *Handler, u *upstream, method, target string, headers ...string) (*httptest.ResponseRecorder, error) {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	for i := 0; i < len(headers); i += 2 {
		r.Header.Add(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	err := h.Serve(w, r, u.serve)
	return w, err
}

var kintoRoutes = render.Routes{Prefixes: []string{"/v1"}}

func TestNotModifiedFromUpstreamValidators(t *testing.T) {
	u := &upstream{status: 200, body: `{"a":1}`, header: []string{
		"Content-Type", "application/json", "ETag", `"7"`, "Last-Modified", "Sun, 22 Nov 2026 12:00:00 GMT",
		"Cache-Control", "max-age=60", "Expires", "Sun, 22 Nov 2026 12:01:00 GMT", "Vary", "Origin",
		"Content-Location", "/doc", "Accept-Ranges", "bytes"}}
	h := &Handler{Hash: true}
	w, err := run(t, h, u, "GET", "/doc", "If-None-Match", `W/"7"`)
	if err != nil || w.Code != 304 || w.Body.Len() != 0 {
		t.Fatalf("got %d %q %v, want an empty 304", w.Code, w.Body, err)
	}
	want := map[string]string{"Etag": `"7"`, "Cache-Control": "max-age=60", "Expires": "Sun, 22 Nov 2026 12:01:00 GMT",
		"Vary": "Origin", "Content-Location": "/doc", "Content-Type": "", "Content-Length": "", "Last-Modified": "", "Accept-Ranges": ""}
	for k, v := range want {
		if got := w.Header().Get(k); got != v {
			t.Errorf("304 header %s = %q, want %q", k, got, v)
		}
	}
	w, _ = run(t, h, u, "GET", "/doc", "If-Modified-Since", "Sun, 22 Nov 2026 12:00:00 GMT")
	if w.Code != 304 {
		t.Fatalf("If-Modified-Since at Last-Modified: got %d, want 304", w.Code)
	}
	w, _ = run(t, h, u, "GET", "/doc", "If-None-Match", `"6"`)
	if w.Code != 200 || w.Body.String() != `{"a":1}` {
		t.Fatalf("other tag: got %d %q", w.Code, w.Body)
	}
}

func TestComputedETag(t *testing.T) {
	u := &upstream{status: 200, body: `{"a":1}`, header: []string{"Content-Type", "application/json"}}
	h := &Handler{Hash: true}
	w, err := run(t, h, u, "GET", "/doc")
	etag := BodyETag([]byte(`{"a":1}`))
	if err != nil || w.Code != 200 || w.Body.String() != `{"a":1}` || w.Header().Get("Etag") != etag {
		t.Fatalf("got %d %q ETag %q %v, want the body with ETag %s", w.Code, w.Body, w.Header().Get("Etag"), err, etag)
	}
	w, _ = run(t, h, u, "GET", "/doc", "If-None-Match", etag)
	if w.Code != 304 || w.Header().Get("Etag") != etag || w.Body.Len() != 0 {
		t.Fatalf("revalidation: got %d ETag %q", w.Code, w.Header().Get("Etag"))
	}
	for _, tc := range []struct {
		name string
		h    *Handler
		u    *upstream
	}{
		{"hash off", &Handler{}, u},
		{"not json", h, &upstream{status: 200, body: "hi", header: []string{"Content-Type", "text/plain"}}},
		{"not 200", h, &upstream{status: 201, body: `{}`, header: []string{"Content-Type", "application/json"}}},
		{"kinto route", &Handler{Hash: true, Routes: kintoRoutes}, u},
		{"too large", &Handler{Hash: true, MaxBuffer: 3}, u},
	} {
		target := "/doc"
		if tc.name == "kinto route" {
			target = "/v1/"
		}
		w, _ := run(t, tc.h, tc.u, "GET", target, "If-Modified-Since", "Sun, 22 Nov 2026 12:00:00 GMT")
		if w.Header().Get("Etag") != "" || w.Body.String() != tc.u.body {
			t.Errorf("%s: got ETag %q body %q, want no ETag and the body", tc.name, w.Header().Get("Etag"), w.Body)
		}
	}
}

func TestHeadComputedETag(t *testing.T) {
	u := &upstream{status: 200, body: `{"a":1}`, header: []string{"Content-Type", "application/json"}}
	h := &Handler{Hash: true}
	w, err := run(t, h, u, "HEAD", "/doc")
	etag := BodyETag([]byte(`{"a":1}`))
	if err != nil || w.Code != 200 || w.Body.Len() != 0 || w.Header().Get("Etag") != etag || w.Header().Get("Content-Length") != "7" {
		t.Fatalf("got %d %q ETag %q, want 200 with the GET's ETag %s", w.Code, w.Body, w.Header().Get("Etag"), etag)
	}
	w, _ = run(t, h, u, "HEAD", "/doc", "If-None-Match", etag)
	if w.Code != 304 {
		t.Fatalf("HEAD revalidation: got %d, want 304", w.Code)
	}
	// A HEAD without Content-Length may be a stream's: no replay.
	replays := 0
	stream := func(w http.ResponseWriter, r *http.Request) error {
		replays++
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(200)
		return nil
	}
	r := httptest.NewRequest("HEAD", "/feed", nil)
	rec := httptest.NewRecorder()
	if err := h.Serve(rec, r, stream); err != nil || replays != 1 || rec.Header().Get("Etag") != "" {
		t.Fatalf("stream HEAD: %d calls, ETag %q, %v", replays, rec.Header().Get("Etag"), err)
	}
}

func TestPreconditionFailed(t *testing.T) {
	u := &upstream{status: 200, body: `{"a":1}`, header: []string{"Content-Type", "application/json", "ETag", `"7"`, "Cache-Control", "max-age=60"}}
	w, err := run(t, &Handler{}, u, "GET", "/doc", "If-Match", `"6"`)
	var refusal *render.Error
	if !errors.As(err, &refusal) || refusal.Status != 412 {
		t.Fatalf("got %v, want a 412 refusal", err)
	}
	if w.Body.Len() != 0 || w.Header().Get("Content-Length") != "" || w.Header().Get("Content-Type") != "" || w.Header().Get("Cache-Control") != "" {
		t.Fatalf("the upstream's body and its headers must not leak: %q %v", w.Body, w.Header())
	}
	u.header = append(u.header, "Last-Modified", "Sun, 22 Nov 2026 12:00:00 GMT")
	w, err = run(t, &Handler{Routes: kintoRoutes}, u, "GET", "/v1/buckets/b", "If-Unmodified-Since", "Sun, 22 Nov 2026 11:00:00 GMT")
	want := `{"code":412,"errno":114,"error":"Precondition Failed","message":"Resource was modified meanwhile"}`
	if err != nil || w.Code != 412 || w.Body.String() != want || w.Header().Get("Etag") != `"7"` {
		t.Fatalf("Kinto route: got %d %s ETag %q %v", w.Code, w.Body, w.Header().Get("Etag"), err)
	}
	// A Kinto server decides If-Match and If-None-Match itself: its
	// answer stands.
	for _, hd := range [][2]string{{"If-Match", `"6"`}, {"If-None-Match", `"7"`}} {
		w, err = run(t, &Handler{Routes: kintoRoutes}, u, "GET", "/v1/buckets/b", hd[0], hd[1])
		if err != nil || w.Code != 200 || w.Body.String() != `{"a":1}` {
			t.Fatalf("Kinto route with %s: got %d %s %v, want the upstream's 200", hd[0], w.Code, w.Body, err)
		}
	}
	// §13.2.1: preconditions are ignored when the answer would not be 2xx.
	w, err = run(t, &Handler{}, &upstream{status: 404, body: `{}`, header: []string{"Content-Type", "application/json"}}, "GET", "/doc", "If-Match", `"6"`)
	if err != nil || w.Code != 404 {
		t.Fatalf("404 with If-Match: got %d %v", w.Code, err)
	}
}

func TestWritesGoToTheUpstream(t *testing.T) {
	u := &upstream{status: 200, body: `{}`, header: []string{"Content-Type", "application/json", "ETag", `"8"`}}
	w, err := run(t, &Handler{}, u, "PUT", "/doc", "If-None-Match", `"8"`, "If-Match", `"7-gzip", "x-zstd"`)
	if err != nil || w.Code != 200 {
		t.Fatalf("got %d %v, want the upstream's 200", w.Code, err)
	}
	if got := u.got.Header.Get("If-Match"); got != `"7", "x"` {
		t.Fatalf("upstream got If-Match %q, want the encode suffixes stripped", got)
	}
}

func TestRequirePrecondition(t *testing.T) {
	u := &upstream{status: 200, body: `{}`, header: []string{"Content-Type", "application/json"}}
	h := &Handler{Require: DefaultRequire, Routes: kintoRoutes}
	_, err := run(t, h, u, "DELETE", "/doc")
	var refusal *render.Error
	if !errors.As(err, &refusal) || refusal.Status != 428 || u.got != nil {
		t.Fatalf("got %v (upstream reached: %v), want a 428 refusal", err, u.got != nil)
	}
	w, err := run(t, h, u, "PATCH", "/v1/buckets/b")
	want := `{"code":428,"errno":108,"error":"Precondition Required","message":"This request must be conditional: send If-Match with the ETag you read, or If-None-Match: * to create."}`
	if err != nil || w.Code != 428 || w.Body.String() != want || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("Kinto route: got %d %s %v", w.Code, w.Body, err)
	}
	for _, hd := range [][]string{{"If-Match", `"1"`}, {"If-None-Match", "*"}} {
		if w, err := run(t, h, u, "PUT", "/v1/buckets/b", hd...); err != nil || w.Code != 200 {
			t.Fatalf("PUT with %s: got %d %v", hd[0], w.Code, err)
		}
	}
	if w, err := run(t, h, u, "POST", "/v1/buckets"); err != nil || w.Code != 200 {
		t.Fatalf("POST is not required to be conditional: got %d %v", w.Code, err)
	}
}

func TestKintoETagsSurviveEncode(t *testing.T) {
	// What encode leaves on a compressed Kinto answer.
	u := &upstream{status: 200, body: "gz", header: []string{"Content-Type", "application/json", "Content-Encoding", "gzip", "ETag", `"1795318542496-gzip"`}}
	w, _ := run(t, &Handler{Routes: kintoRoutes}, u, "GET", "/v1/buckets/b/collections/c/records")
	if got := w.Header().Get("Etag"); got != `"1795318542496"` {
		t.Fatalf("Kinto route ETag = %s", got)
	}
	w, _ = run(t, &Handler{Routes: kintoRoutes}, u, "GET", "/api/x")
	if got := w.Header().Get("Etag"); got != `"1795318542496-gzip"` {
		t.Fatalf("other route ETag = %s, want encode's", got)
	}
	// Revalidation is the Kinto server's to decide: it gets the tag
	// without encode's suffix.
	_, _ = run(t, &Handler{Routes: kintoRoutes}, u, "GET", "/v1/buckets/b", "If-None-Match", `"1795318542496-gzip"`)
	if got := u.got.Header.Get("If-None-Match"); got != `"1795318542496"` {
		t.Fatalf("Kinto revalidation: upstream got If-None-Match %s", got)
	}
}

func TestUpstream304EchoesTheClientsTag(t *testing.T) {
	u := &upstream{status: 304, header: []string{"ETag", `"abc"`}}
	w, _ := run(t, &Handler{}, u, "GET", "/doc", "If-None-Match", `"abc-gzip"`)
	if w.Code != 304 || w.Header().Get("Etag") != `"abc-gzip"` {
		t.Fatalf("got %d ETag %s, want the tag the client's cache holds", w.Code, w.Header().Get("Etag"))
	}
	if got := u.got.Header.Get("If-None-Match"); got != `"abc"` {
		t.Fatalf("upstream got If-None-Match %q", got)
	}
}

func TestStreamsAreReleasedAtTheirFirstFlush(t *testing.T) {
	for _, ct := range []string{"application/json", "text/event-stream"} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/feed", nil)
		seen := ""
		err := (&Handler{Hash: true}).Serve(w, r, func(w http.ResponseWriter, r *http.Request) error {
			w.Header().Set("Content-Type", ct)
			w.WriteHeader(200)
			_, _ = w.Write([]byte("{\"seq\":1}\n"))
			if err := http.NewResponseController(w).Flush(); err != nil {
				return err
			}
			seen = w.(interface{ Unwrap() http.ResponseWriter }).Unwrap().(*httptest.ResponseRecorder).Body.String()
			_, _ = w.Write([]byte("{\"seq\":2}\n"))
			return nil
		})
		if err != nil || seen != "{\"seq\":1}\n" || !w.Flushed || w.Header().Get("Etag") != "" {
			t.Fatalf("%s: client had %q at the flush (flushed %v, ETag %q, %v)", ct, seen, w.Flushed, w.Header().Get("Etag"), err)
		}
		if !strings.HasSuffix(w.Body.String(), "{\"seq\":2}\n") {
			t.Fatalf("%s: body %q", ct, w.Body)
		}
	}
}
