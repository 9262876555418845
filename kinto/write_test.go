package kinto

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestWriteError(t *testing.T) {
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		rec := httptest.NewRecorder()
		WriteError(rec, httptest.NewRequest(method, "/v1/", nil), MethodNotAllowed("GET"))
		want := `{"code":405,"errno":115,"error":"Method Not Allowed","message":"Method not allowed on this endpoint."}`
		h := rec.Header()
		if rec.Code != 405 || h.Get("Allow") != "GET" || h.Get("Content-Type") != "application/json" ||
			h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Content-Length") != "102" {
			t.Fatalf("%s: %d %v", method, rec.Code, h)
		}
		if body := rec.Body.String(); (method == http.MethodGet && body != want) || (method == http.MethodHead && body != "") {
			t.Fatalf("%s: body %q", method, body)
		}
	}
}
