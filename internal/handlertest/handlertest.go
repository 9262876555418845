// Package handlertest holds the test fixtures' helpers shared by the
// packages whose middleware answers some requests in front of the
// document store (changes, feeds): serving one request through the
// chain, checking an exact answer, waiting for an event's effect.
package handlertest

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/changegate/changegate/internal/middleware"
)

// Answers serves r with h and reports whether h answered it rather than
// passing it to the next handler (which does nothing).
func Answers(h middleware.Handler, w http.ResponseWriter, r *http.Request) bool {
	passed := false
	_ = h.Serve(w, r, func(http.ResponseWriter, *http.Request) error {
		passed = true
		return nil
	})
	return !passed
}

// SetHeaders gives r the headers, each "Name: value", and a JSON
// Content-Type when it has a body.
func SetHeaders(r *http.Request, body string, headers ...string) {
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	for _, h := range headers {
		k, v, _ := strings.Cut(h, ": ")
		r.Header.Set(k, v)
	}
}

// Do serves one request through h, then next (the store) if h passes it
// on; headers are "Name: value".
func Do(t testing.TB, h middleware.Handler, next http.Handler, method, target, body string, headers ...string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	SetHeaders(r, body, headers...)
	w := httptest.NewRecorder()
	if !Answers(h, w, r) {
		next.ServeHTTP(w, r)
	}
	return w
}

// OK is Do for a write, failing the test on an error status.
func OK(t testing.TB, h middleware.Handler, next http.Handler, method, target, body string) {
	t.Helper()
	if w := Do(t, h, next, method, target, body); w.Code >= 300 {
		t.Fatalf("%s %s: %d %s", method, target, w.Code, w.Body)
	}
}

// Expect checks status and exact body.
func Expect(t testing.TB, w *httptest.ResponseRecorder, status int, body string) {
	t.Helper()
	if w.Code != status || w.Body.String() != body {
		t.Fatalf("got %d %s\nwant %d %s", w.Code, w.Body, status, body)
	}
}

// Eventually retries cond for a second.
func Eventually(t testing.TB, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatal("condition not met within a second")
}

// Discard is a ResponseWriter that keeps nothing, so that benchmarks
// measure the handler rather than a recorder's copying. H must be set.
type Discard struct{ H http.Header }

func (d *Discard) Header() http.Header         { return d.H }
func (d *Discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *Discard) WriteHeader(int)             {}
