package upstream

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestFutureTimestamp(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	const far = "9000000000000000"
	soon := "1700000300000" // five minutes ahead: within the tolerance
	for _, c := range []struct {
		method, target, body, refused string
	}{
		{"PUT", "/v1/buckets/b/collections/c/records/r", `{"data":{"last_modified":` + far + `}}`, "data.last_modified in body: 9000000000000000 is later than the server clock plus 10m0s (timestamp_tolerance)"},
		{"PUT", "/v1/buckets/b/collections/c/records/r", `{"data":{"last_modified":` + soon + `}}`, ""},
		{"PUT", "/v1/buckets/b/collections/c/records/r", `{"data":{"last_modified":1000}}`, ""},
		{"PUT", "/v1/buckets/b/collections/c/records/r", `{"data":{"last_modified":"` + far + `"}}`, ""},
		{"PATCH", "/v1/buckets/b/collections/c/records/r", `[{"op":"replace","path":"/data/last_modified","value":` + far + `}]`, "data.last_modified in body"},
		{"POST", "/v1/batch", `{"requests":[{"path":"/x","body":{}},{"path":"/y","body":{"data":{"last_modified":` + far + `}}}]}`, "requests.1.body.data.last_modified in body"},
		{"POST", "/v1/batch", `{"defaults":{"body":{"data":{"last_modified":` + far + `}}},"requests":[{"path":"/x"}]}`, "defaults.body.data.last_modified in body"},
		{"DELETE", "/v1/buckets/b/collections/c/records/r?last_modified=" + far, "", "last_modified in querystring"},
		{"DELETE", "/v1/buckets/b/collections/c/records/r?last_modified=" + soon, "", ""},
	} {
		r := httptest.NewRequest(c.method, c.target, strings.NewReader(c.body))
		err := FutureTimestamp("/v1", r, []byte(c.body), now, 10*time.Minute)
		switch {
		case c.refused == "" && err != nil:
			t.Errorf("%s %s %s refused: %v", c.method, c.target, c.body, err)
		case c.refused != "" && (err == nil || err.Code != 400 || err.Errno != 107 || !strings.Contains(err.Message, c.refused)):
			t.Errorf("%s %s %s: got %v, want 400 errno 107 %q", c.method, c.target, c.body, err, c.refused)
		}
	}
}
