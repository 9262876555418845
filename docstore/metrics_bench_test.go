package docstore_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/changegate/changegate/docstore"
	"github.com/changegate/changegate/docstore/memory"
)

// BenchmarkServeRecordGet is the baseline BenchmarkCountRequest is
// judged against: a whole record GET on the memory engine, counted
// metrics included.
func BenchmarkServeRecordGet(b *testing.B) {
	h, err := docstore.NewHandler(docstore.NewStore(memory.New()), docstore.Config{InsecureAllowAll: true}, nil)
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range []string{"/v1/buckets/main", "/v1/buckets/main/collections/tasks", "/v1/buckets/main/collections/tasks/records/r1"} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodPut, p, strings.NewReader(`{"data":{"title":"x"}}`)))
		if w.Code != http.StatusCreated {
			b.Fatalf("PUT %s: %d %s", p, w.Code, w.Body)
		}
	}
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/v1/buckets/main/collections/tasks/records/r1", nil))
		if w.Code != http.StatusOK {
			b.Fatalf("GET: %d", w.Code)
		}
	}
}
