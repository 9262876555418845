package upstream

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"testing/iotest"

	"github.com/changegate/changegate/kinto"
)

// TestTap: the answer goes through untouched; with a Content-Length it is
// observed before its last bytes are written (read your writes), and a
// body beyond the bound is marked truncated.
func TestTap(t *testing.T) {
	for _, tc := range []struct {
		name      string
		max       int64
		length    bool
		truncated bool
	}{
		{"with length", 1 << 10, true, false},
		{"chunked", 1 << 10, false, false},
		{"too long", 8, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			var seen string
			tp := newTap(rec, tc.max, func(*tap) { seen = rec.Body.String() })
			body := `{"data":{"id":"r","last_modified":42}}`
			if tc.length {
				tp.Header().Set("Content-Length", "38")
			}
			tp.WriteHeader(http.StatusCreated)
			if _, err := tp.ReadFrom(strings.NewReader(body)); err != nil {
				t.Fatal(err)
			}
			tp.done()
			if rec.Code != 201 || rec.Body.String() != body {
				t.Fatalf("client got %d %q", rec.Code, rec.Body.String())
			}
			if want := ""; tc.length && seen != want {
				t.Fatalf("observed after %q was written, want before the body", seen)
			}
			if !tc.length && seen != body {
				t.Fatalf("observed after %q, want at the end", seen)
			}
			if tp.truncated != tc.truncated || (!tc.truncated && string(tp.body) != body) {
				t.Fatalf("kept %q, truncated %t", tp.body, tp.truncated)
			}
		})
	}
}

// newTestProxy is a Proxy over a source that does not poll, with the
// events it sends.
func newTestProxy(t *testing.T) (*Proxy, func() []kinto.Event) {
	s := newTestSource(t, func(w http.ResponseWriter, r *http.Request) {}, Options{})
	var mu sync.Mutex
	var got []kinto.Event
	s.Subscribe(func(ev kinto.Event) {
		mu.Lock()
		got = append(got, ev)
		mu.Unlock()
	})
	return &Proxy{Source: s, Prefix: "/v1", Capability: map[string]any{"url": "x"}}, func() []kinto.Event {
		mu.Lock()
		defer mu.Unlock()
		return got
	}
}

// TestProxyRoot: the upstream's root lists the changes capability once,
// even when the upstream flushes it in parts; other answers pass as they
// are.
func TestProxyRoot(t *testing.T) {
	p, _ := newTestProxy(t)
	for _, tc := range []struct {
		name, contentType, body, want string
	}{
		{"patched", "application/json", `{"capabilities":{"a":{}}}`, `{"capabilities":{"a":{},"changes":{"url":"x"}}}`},
		{"listed", "application/json", `{"capabilities":{"changes":{"url":"up"}}}`, `{"capabilities":{"changes":{"url":"up"}}}`},
		{"not json", "text/html", `{"capabilities":{}}`, `{"capabilities":{}}`},
	} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/v1/", nil)
		r.Header.Set("Accept-Encoding", "gzip")
		err := p.Serve(w, r, func(w http.ResponseWriter, r *http.Request) error {
			if r.Header.Get("Accept-Encoding") != "" {
				t.Errorf("%s: the upstream was asked a compressed root", tc.name)
			}
			w.Header().Set("Content-Type", tc.contentType)
			half := len(tc.body) / 2
			_, _ = io.WriteString(w, tc.body[:half])
			_ = http.NewResponseController(w).Flush()
			_, _ = io.WriteString(w, tc.body[half:])
			return nil
		})
		if err != nil || w.Code != 200 || w.Body.String() != tc.want {
			t.Errorf("%s: %v %d %s, want %s", tc.name, err, w.Code, w.Body, tc.want)
		}
		if tc.name == "patched" && w.Header().Get("Content-Length") != "47" {
			t.Errorf("patched root: Content-Length %q", w.Header().Get("Content-Length"))
		}
	}
}

// TestProxyObservesWrites: the answer to a write passing through becomes
// an event before the client has its last byte; reads pass untouched.
func TestProxyObservesWrites(t *testing.T) {
	p, events := newTestProxy(t)
	answer := `{"data":{"id":"r1","last_modified":40}}`
	w := httptest.NewRecorder()
	r := httptest.NewRequest("PUT", "/v1/buckets/b/collections/c/records/r1", strings.NewReader(`{"data":{}}`))
	err := p.Serve(w, r, func(w http.ResponseWriter, r *http.Request) error {
		if body, _ := io.ReadAll(r.Body); string(body) != `{"data":{}}` {
			t.Errorf("the upstream got the body %q", body)
		}
		w.Header().Set("ETag", `"40"`)
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, answer)
		return nil
	})
	if err != nil || w.Code != 201 || w.Body.String() != answer {
		t.Fatalf("client got %v %d %s", err, w.Code, w.Body)
	}
	if got := events(); len(got) != 1 || got[0].Kind != kinto.KindRecord || got[0].Timestamp != 40 || got[0].Collection != "c" {
		t.Fatalf("events %+v", got)
	}
	_ = p.Serve(httptest.NewRecorder(), httptest.NewRequest("GET", "/v1/buckets/b/collections/c/records/r1", nil),
		func(w http.ResponseWriter, r *http.Request) error { return nil })
	if got := events(); len(got) != 1 {
		t.Fatalf("a read made events: %+v", got)
	}
}

// TestProxyFutureTimestamp: a write whose last_modified is far ahead is
// refused in Kinto's format before it reaches the upstream; a body that
// cannot be read is the client's error.
func TestProxyFutureTimestamp(t *testing.T) {
	p, _ := newTestProxy(t)
	w := httptest.NewRecorder()
	r := httptest.NewRequest("PUT", "/v1/buckets/b/collections/c/records/r1", strings.NewReader(`{"data":{"last_modified":99999999999999}}`))
	err := p.Serve(w, r, func(http.ResponseWriter, *http.Request) error {
		t.Error("the refused write reached the upstream")
		return nil
	})
	if err != nil || w.Code != 400 || !strings.Contains(w.Body.String(), `"errno":107`) || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("refusal: %v %d %s %v", err, w.Code, w.Body, w.Header())
	}
	r = httptest.NewRequest("PUT", "/v1/buckets/b/collections/c/records/r1", iotest.ErrReader(errors.New("reset")))
	err = p.Serve(httptest.NewRecorder(), r, func(http.ResponseWriter, *http.Request) error { return nil })
	if !errors.Is(err, ErrReadingBody) {
		t.Fatalf("unreadable body: %v", err)
	}
}
