package render

import (
	"net/http"
	"net/http/httptest"
	"strconv"
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
