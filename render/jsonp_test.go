package render

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

func TestValidCallback(t *testing.T) {
	for name, want := range map[string]bool{
		"cb": true, "jQuery123_456": true, "$": true, "_a.b.c": true, "a$b": true, "A": true,
		"": false, "1a": false, ".a": false, "a-b": false, "a(b)": false, "alert(1);x": false,
		"a b": false, "a[0]": false, "é": false, strings.Repeat("a", 129): false, strings.Repeat("a", 128): true,
	} {
		if got := ValidCallback(name, DefaultCallbackLength); got != want {
			t.Errorf("ValidCallback(%q) = %v", name, got)
		}
	}
}

func TestWrapJSONP(t *testing.T) {
	var b bytes.Buffer
	WrapJSONP(&b, "cb", []byte("{\"s\":\"a\u2028b\u2029c\u2019d\u2030\"}"))
	want := "/**/ cb({\"s\":\"a\\u2028b\\u2029c\u2019d\u2030\"});"
	if b.String() != want {
		t.Fatalf("got %q, want %q", b.String(), want)
	}
}

func TestJSONP(t *testing.T) {
	const doc = `{"data":[]}`
	jsonHeaders := []string{"Content-Type", "application/json", "ETag", `"5"`, "Cache-Control", "max-age=60"}
	tests := []struct {
		name, target string
		header       []string
		next         func(http.ResponseWriter, *http.Request) error
		status       int
		body         string
		cacheControl string
		etag         string
	}{
		{"wraps", "/?callback=cb", nil, answer(200, doc, jsonHeaders...), 200, `/**/ cb({"data":[]});`, "max-age=60", `"5"`},
		{"dotted", "/?callback=app.on_data", nil, answer(200, doc, jsonHeaders...), 200, `/**/ app.on_data({"data":[]});`, "max-age=60", `"5"`},
		{"error as 200", "/?callback=cb", nil, answer(404, `{"code":404}`, jsonHeaders...), 200, `/**/ cb({"code":404});`, "no-store", ""},
		{"not asked", "/", nil, answer(200, doc, jsonHeaders...), 200, doc, "max-age=60", `"5"`},
		{"invalid json unchanged", "/?callback=cb", nil, answer(200, `{"a"`, jsonHeaders...), 200, `{"a"`, "max-age=60", `"5"`},
		{"not json", "/?callback=cb", nil, answer(502, `bad gateway`, "Content-Type", "text/plain"), 502, `bad gateway`, "", ""},
		{"allowed when authenticated", "/?callback=cb", []string{"Authorization", "Basic eDp5"}, answer(200, doc, jsonHeaders...), 200, `/**/ cb({"data":[]});`, "max-age=60", `"5"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			j := &JSONP{AllowAuthenticated: tt.name == "allowed when authenticated"}
			r := httptest.NewRequest("GET", tt.target, nil)
			for i := 0; i < len(tt.header); i += 2 {
				r.Header.Set(tt.header[i], tt.header[i+1])
			}
			w := httptest.NewRecorder()
			if err := j.Serve(w, r, tt.next); err != nil {
				t.Fatal(err)
			}
			h := w.Header()
			if w.Code != tt.status || w.Body.String() != tt.body || h.Get("Content-Length") != strconv.Itoa(len(tt.body)) ||
				h.Get("Cache-Control") != tt.cacheControl || h.Get("Etag") != tt.etag {
				t.Fatalf("got %d %q %v", w.Code, w.Body, h)
			}
			if strings.HasPrefix(tt.body, "/**/") && (h.Get("Content-Type") != "application/javascript; charset=utf-8" || h.Get("X-Content-Type-Options") != "nosniff") {
				t.Fatalf("script headers: %v", h)
			}
		})
	}
}

func TestJSONPRefusals(t *testing.T) {
	next := answer(200, `{}`, "Content-Type", "application/json")
	for _, tc := range []struct {
		target string
		header []string
		auth   func(*http.Request) bool
	}{
		{"/?callback=", nil, nil},
		{"/?callback=alert(1)", nil, nil},
		{"/?callback=" + strings.Repeat("a", 200), nil, nil},
		{"/?callback=cb", []string{"Authorization", "Bearer x"}, nil},
		{"/?callback=cb", []string{"Cookie", "session=1"}, nil},
		{"/?callback=cb", nil, func(*http.Request) bool { return true }},
	} {
		r := httptest.NewRequest("GET", tc.target, nil)
		for i := 0; i < len(tc.header); i += 2 {
			r.Header.Set(tc.header[i], tc.header[i+1])
		}
		err := (&JSONP{Authenticated: tc.auth}).Serve(httptest.NewRecorder(), r, next)
		var refusal *Error
		if !errors.As(err, &refusal) || refusal.Status != 400 {
			t.Errorf("%s %v: got %v, want a 400 refusal", tc.target, tc.header, err)
		}
	}
	w := httptest.NewRecorder()
	j := &JSONP{Routes: Routes{Prefixes: []string{"/v1"}}}
	if err := j.Serve(w, httptest.NewRequest("GET", "/v1/?callback=1x", nil), next); err != nil {
		t.Fatal(err)
	}
	want := `{"code":400,"errno":107,"error":"Invalid parameters","message":"callback in querystring: must match ^[a-zA-Z_$][\\w$.]*$ and be at most 128 characters",` +
		`"details":[{"location":"querystring","name":"callback","description":"must match ^[a-zA-Z_$][\\w$.]*$ and be at most 128 characters"}]}`
	if w.Code != 400 || w.Body.String() != want {
		t.Fatalf("Kinto route: got %d %s", w.Code, w.Body)
	}
}

func TestJSONPHead(t *testing.T) {
	w := httptest.NewRecorder()
	err := (&JSONP{}).Serve(w, httptest.NewRequest("HEAD", "/?callback=cb", nil), answer(404, `{"code":404}`, "Content-Type", "application/json"))
	if err != nil || w.Code != 200 || w.Header().Get("Content-Type") != "application/javascript; charset=utf-8" || w.Header().Get("Content-Length") != "" {
		t.Fatalf("got %d %v %v", w.Code, w.Header(), err)
	}
}
