package render

import (
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// answer is a next handler writing status, headers (name, value pairs)
// and body, with its Content-Length.
func answer(status int, body string, headers ...string) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		for i := 0; i < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(status)
		if r.Method != http.MethodHead {
			_, _ = w.Write([]byte(body))
		}
		return nil
	}
}

func TestPretty(t *testing.T) {
	const doc = `{"data":[{"id":"a","n":1}],"e":[]}`
	const indented = "{\n    \"data\": [\n        {\n            \"id\": \"a\",\n            \"n\": 1\n        }\n    ],\n    \"e\": []\n}"
	jsonHeaders := []string{"Content-Type", "application/json", "ETag", `"12"`, "Accept-Ranges", "bytes"}
	tests := []struct {
		name, method, target string
		next                 func(http.ResponseWriter, *http.Request) error
		want                 string
	}{
		{"indents", "GET", "/?pretty", answer(200, doc, jsonHeaders...), indented},
		{"any value", "GET", "/?a=1&pretty=false", answer(200, doc, jsonHeaders...), indented},
		{"error bodies too", "GET", "/?pretty", answer(404, `{"code":404}`, "Content-Type", "application/json"), "{\n    \"code\": 404\n}"},
		{"not asked", "GET", "/", answer(200, doc, jsonHeaders...), doc},
		{"other parameter", "GET", "/?p=1", answer(200, doc, jsonHeaders...), doc},
		{"invalid json unchanged", "GET", "/?pretty", answer(200, `{"a":`, jsonHeaders...), `{"a":`},
		{"not json", "GET", "/?pretty", answer(200, `{"a":1}`, "Content-Type", "text/plain"), `{"a":1}`},
		{"compressed", "GET", "/?pretty", answer(200, `{"a":1}`, "Content-Type", "application/json", "Content-Encoding", "gzip"), `{"a":1}`},
		{"writes untouched", "POST", "/?pretty", answer(200, doc, jsonHeaders...), doc},
		{"custom parameter", "GET", "/?indent", answer(200, `{"a":1}`, "Content-Type", "application/json"), "{\n    \"a\": 1\n}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Pretty{}
			if tt.name == "custom parameter" {
				p.Param = "indent"
			}
			w := httptest.NewRecorder()
			if err := p.Serve(w, httptest.NewRequest(tt.method, tt.target, nil), tt.next); err != nil {
				t.Fatal(err)
			}
			if w.Body.String() != tt.want {
				t.Fatalf("body %q, want %q", w.Body, tt.want)
			}
			if got := w.Header().Get("Content-Length"); got != strconv.Itoa(len(tt.want)) {
				t.Fatalf("Content-Length %s, want %d", got, len(tt.want))
			}
			if tt.want == indented && (w.Header().Get("Etag") != `"12"` || w.Header().Get("Accept-Ranges") != "") {
				t.Fatalf("ETag %q Accept-Ranges %q: the ETag stays, ranges go", w.Header().Get("Etag"), w.Header().Get("Accept-Ranges"))
			}
		})
	}
}

func TestPrettyHead(t *testing.T) {
	w := httptest.NewRecorder()
	err := (&Pretty{}).Serve(w, httptest.NewRequest("HEAD", "/?pretty", nil), answer(200, `{"a":1}`, "Content-Type", "application/json", "ETag", `"1"`))
	if err != nil || w.Code != 200 || w.Header().Get("Content-Length") != "" || w.Header().Get("Etag") != `"1"` {
		t.Fatalf("got %d %v %v: the compact length must go", w.Code, w.Header(), err)
	}
}

// TestPrettyBoundsOutput: 18 KB of 9,000 nested arrays would indent to
// hundreds of megabytes; it goes out compact, and indenting it costs
// memory in proportion to the bound, not to the indented size.
func TestPrettyBoundsOutput(t *testing.T) {
	bomb := strings.Repeat("[", 9000) + strings.Repeat("]", 9000)
	p := &Pretty{}
	serve := func(p *Pretty, body string) string {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", "/doc?pretty", nil)
		if err := p.Serve(w, r, answer(200, body, "Content-Type", "application/json")); err != nil {
			t.Fatal(err)
		}
		if w.Header().Get("Content-Length") != strconv.Itoa(w.Body.Len()) {
			t.Fatalf("Content-Length %s for %d bytes", w.Header().Get("Content-Length"), w.Body.Len())
		}
		return w.Body.String()
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	got := serve(p, bomb)
	runtime.ReadMemStats(&after)
	if got != bomb {
		t.Fatalf("nested arrays were not sent compact (%d bytes)", len(got))
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 2<<20 {
		t.Fatalf("indenting an 18 KB body allocated %d bytes", alloc)
	}
	// The ratio and the absolute bound are both honoured.
	doc := `{"a":[1,2,3],"b":{"c":"d"}}`
	if got := serve(p, doc); !strings.Contains(got, "\n    \"a\": [\n") {
		t.Fatalf("ordinary document not indented: %q", got)
	}
	if got := serve(&Pretty{MaxRatio: 1}, doc); got != doc {
		t.Fatalf("ratio 1 must leave the body compact: %q", got)
	}
	if got := serve(&Pretty{MaxOutput: len(doc) + 10}, doc); got != doc {
		t.Fatalf("max output must leave the body compact: %q", got)
	}
}
