package feeds

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/changegate/changegate/internal/handlertest"
)

// BenchmarkFeedNormal10k serves the normal feed of a 10,000-record
// collection on the bolt engine.
func BenchmarkFeedNormal10k(b *testing.B) {
	f := benchFixture(b)
	f.ok("PUT", "/v1/buckets/b", "{}")
	f.ok("PUT", feedColl, "{}")
	for i := range 400 {
		reqs := make([]string, 25)
		for j := range reqs {
			reqs[j] = fmt.Sprintf(`{"body":{"data":{"n":%d,"title":"record number %d of the feeds benchmark"}}}`, i*25+j, j)
		}
		f.ok("POST", "/v1/batch", `{"defaults":{"method":"POST","path":"/buckets/b/collections/c/records"},"requests":[`+strings.Join(reqs, ",")+`]}`)
	}
	if w := f.do("GET", feedColl+"/_changes?limit=0", ""); !strings.Contains(w.Body.String(), `"pending":10000}`) {
		b.Fatalf("seeded: %s", w.Body)
	}
	b.ReportAllocs()
	for b.Loop() {
		handlertest.Answers(f.h, &handlertest.Discard{H: http.Header{}}, httptest.NewRequest("GET", feedColl+"/_changes", nil))
	}
}
