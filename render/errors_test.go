package render

import "testing"

func TestKintoRoutes(t *testing.T) {
	rt := Routes{Prefixes: []string{"/v1", "/kinto/"}}
	for path, want := range map[string]bool{
		"/v1": true, "/v1/": true, "/v1/buckets": true, "/v10": false, "/v": false, "/": false,
		"/kinto/": true, "/kinto/v1/buckets": true, "/kinto": false, "/api/v1": false,
	} {
		if got := rt.Kinto(path); got != want {
			t.Errorf("Kinto(%q) = %v", path, got)
		}
	}
	if (Routes{}).Kinto("/v1") {
		t.Error("no prefixes, no Kinto route")
	}
}
