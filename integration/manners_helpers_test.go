package integration

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/changegate/changegate/internal/testserver"
)

// mannersGlobal is the global options block of every manners test.
const mannersGlobal = `{
	admin localhost:{admin}
	http_port {port}
	auto_https off
	persist_config off
}
`

// mannersDocstore is the standalone service with every manners
// directive and encode, in the order the directives themselves choose.
const mannersDocstore = mannersGlobal + `:{port} {
	encode gzip zstd
	method_override
	conditional
	cache_control {
		override
		max_age 60
		busted {
			max_age 1h
		}
	}
	pretty
	jsonp
	docstore {
		storage bolt {dir}/data.db
		userid_hmac_secret test-secret-of-16-bytes
		insecure_allow_all
	}
}
`

// mannersSidecar puts the same directives in front of a foreign JSON
// API ({upstream}).
const mannersSidecar = mannersGlobal + `:{port} {
	encode gzip zstd
	method_override
	conditional
	cache_control {
		max_age 60
		s_maxage 300
		busted {
			max_age 1h
			s_maxage 1h
		}
		vary Origin
	}
	pretty
	jsonp
	reverse_proxy {upstream}
}
`

// startSidecar starts changegate from caddyfile with {upstream} set to
// the foreign API's address.
func startSidecar(t *testing.T, caddyfile string, api *httptest.Server) *testserver.Server {
	t.Helper()
	return testserver.Start(t, strings.ReplaceAll(caddyfile, "{upstream}", strings.TrimPrefix(api.URL, "http://")))
}

// foreignDoc is the foreign API's document: about 1 KB of JSON, so that
// encode compresses it (encode's minimum is 512 bytes).
var foreignDoc = func() string {
	var b strings.Builder
	b.WriteString(`{"id":"item-1","title":"A document served by a plain Go API","tags":[`)
	for i := 0; i < 40; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"tag-%02d"`, i)
	}
	b.WriteString(`],"owner":{"name":"Alice","id":42},"notes":"` + strings.Repeat("lorem ipsum ", 30) + `"}`)
	return b.String()
}()

// foreignLastModified is the Last-Modified of the foreign API's
// validated documents.
const foreignLastModified = "Sun, 22 Nov 2026 12:00:00 GMT"

// startForeignAPI starts a plain Go JSON API (no changegate in it):
//
//	/plain          the document, without validators
//	/validated      the document with ETag "v1" and Last-Modified; it
//	                ignores preconditions, as many APIs do
//	/smart          the document with ETag "s1"; it answers If-None-Match
//	                itself (exact comparison)
//	/echo           what it received: method, query and preconditions
//	/status/<code>  a JSON error with that status
//	/invalid        "JSON" that is not
//	/unicode        a string holding U+2028 and U+2029
//	/cached         the document with the API's own Cache-Control
//	/vary           the document with Vary: Accept-Language
//	/sse, /continuous, /continuous-big, /longpoll, /longpoll-bare
//	                slow streams, see slowStream
func startForeignAPI(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/plain", jsonAnswer(200, foreignDoc))
	mux.HandleFunc("/validated", jsonAnswer(200, foreignDoc, "ETag", `"v1"`, "Last-Modified", foreignLastModified))
	mux.HandleFunc("/smart", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Seen-If-None-Match", r.Header.Get("If-None-Match"))
		if r.Header.Get("If-None-Match") == `"s1"` {
			w.Header().Set("ETag", `"s1"`)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		jsonAnswer(200, foreignDoc, "ETag", `"s1"`)(w, r)
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		jsonAnswer(200, fmt.Sprintf(`{"method":%q,"query":%q,"if_match":%q,"if_none_match":%q,"override":%q}`,
			r.Method, r.URL.RawQuery, r.Header.Get("If-Match"), r.Header.Get("If-None-Match"), r.Header.Get("X-HTTP-Method-Override")))(w, r)
	})
	mux.HandleFunc("/status/", func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/status/"))
		jsonAnswer(code, fmt.Sprintf(`{"error":%q}`, http.StatusText(code)), "ETag", `"e1"`)(w, r)
	})
	mux.HandleFunc("/invalid", jsonAnswer(200, `{"broken":`))
	mux.HandleFunc("/unicode", jsonAnswer(200, "{\"s\":\"line\u2028para\u2029end\"}"))
	mux.HandleFunc("/cached", jsonAnswer(200, foreignDoc, "Cache-Control", "private, max-age=5"))
	mux.HandleFunc("/vary", jsonAnswer(200, foreignDoc, "Vary", "Accept-Language"))
	mux.HandleFunc("/sse", slowStream("text/event-stream", "data: first\n\n", "data: second\n\n"))
	mux.HandleFunc("/continuous", slowStream("application/json", `{"seq":1,"id":"a"}`+"\n", `{"seq":2,"id":"b"}`+"\n"))
	mux.HandleFunc("/continuous-big", slowStream("application/json", `{"seq":1,"doc":`+foreignDoc+"}\n", `{"seq":2}`+"\n"))
	// CouchDB sends a newline when a long poll first goes idle, so that
	// the headers leave at once even through a compressor.
	mux.HandleFunc("/longpoll", slowStream("application/json", "\n", `{"results":[{"seq":1}],"last_seq":1}`))
	mux.HandleFunc("/longpoll-bare", slowStream("application/json", "", `{"results":[{"seq":1}],"last_seq":1}`))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// jsonAnswer answers status with a JSON body and its Content-Length,
// plus headers given as name, value pairs.
func jsonAnswer(status int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		for i := 0; i < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			_, _ = io.WriteString(w, body)
		}
	}
}

// streamPause is how long the slow streams wait between their parts.
const streamPause = 2 * time.Second

// slowStream answers a stream without Content-Length: headers and first
// (flushed at once; nothing but headers when first is empty), a pause,
// then last. It is how CouchDB's feeds look: continuous (JSON lines),
// eventsource, longpoll (headers, a wait, the result).
func slowStream(contentType, first, last string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(200)
		if first != "" {
			_, _ = io.WriteString(w, first)
		}
		_ = http.NewResponseController(w).Flush()
		select {
		case <-time.After(streamPause):
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, last)
	}
}

// decoded returns the body of r uncompressed, per its Content-Encoding.
func (r result) decoded(t testing.TB) string {
	t.Helper()
	switch enc := r.header.Get("Content-Encoding"); enc {
	case "":
		return r.body
	case "gzip":
		zr, err := gzip.NewReader(strings.NewReader(r.body))
		if err != nil {
			t.Fatalf("gzip body: %v", err)
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("gzip body: %v", err)
		}
		return string(b)
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader([]byte(r.body)))
		if err != nil {
			t.Fatalf("zstd body: %v", err)
		}
		defer zr.Close()
		b, err := io.ReadAll(zr)
		if err != nil {
			t.Fatalf("zstd body: %v", err)
		}
		return string(b)
	default:
		t.Fatalf("unexpected Content-Encoding %q", enc)
		return ""
	}
}

// expectDecoded checks status and the uncompressed body.
func (r result) expectDecoded(t testing.TB, status int, body string) result {
	t.Helper()
	if got := r.decoded(t); r.status != status || got != body {
		t.Fatalf("got %d %s\nwant %d %s", r.status, got, status, body)
	}
	return r
}

// expectHeaders checks several headers (name, value pairs; "" means
// absent).
func (r result) expectHeaders(t testing.TB, pairs ...string) result {
	t.Helper()
	for i := 0; i < len(pairs); i += 2 {
		r.expectHeader(t, pairs[i], pairs[i+1])
	}
	return r
}

// expectVary checks the Vary list, all its lines joined.
func (r result) expectVary(t testing.TB, want string) result {
	t.Helper()
	if got := strings.Join(r.header.Values("Vary"), ", "); got != want {
		t.Fatalf("Vary = %q, want %q", got, want)
	}
	return r
}

// expectExpiresIn checks that Expires is Date plus maxAge (the two are
// taken within the same second or one apart).
func (r result) expectExpiresIn(t testing.TB, maxAge time.Duration) result {
	t.Helper()
	date, err1 := http.ParseTime(r.header.Get("Date"))
	exp, err2 := http.ParseTime(r.header.Get("Expires"))
	if err1 != nil || err2 != nil {
		t.Fatalf("Date %q / Expires %q: %v %v", r.header.Get("Date"), r.header.Get("Expires"), err1, err2)
	}
	if d := exp.Sub(date); d < maxAge-time.Second || d > maxAge {
		t.Fatalf("Expires - Date = %v, want %v", d, maxAge)
	}
	return r
}
