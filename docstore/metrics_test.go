package docstore

import "testing"

func TestRouteClass(t *testing.T) {
	for path, want := range map[string]string{
		"/":                                    "root",
		"/__heartbeat__":                       "heartbeat",
		"/batch":                               "batch",
		"/buckets":                             "buckets",
		"/buckets/b":                           "bucket",
		"/buckets/b/collections":               "collections",
		"/buckets/b/groups/g":                  "group",
		"/buckets/b/collections/c":             "collection",
		"/buckets/b/collections/c/records":     "records",
		"/buckets/b/collections/c/records/r":   "record",
		"/buckets/b/collections/c/records/r/":  "unknown",
		"/buckets//collections":                "unknown",
		"/buckets/b/collections/c/records/r/x": "unknown",
		"/bucketsx":                            "unknown",
		"/nothing":                             "unknown",
		"":                                     "unknown",
	} {
		if got := routeClass(path); got != want {
			t.Errorf("routeClass(%q) = %q, want %q", path, got, want)
		}
	}
}

func BenchmarkRouteClass(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		routeClass("/buckets/main/collections/tasks/records/0c5a4d6e-3f0b-4a47-9f1d-9c1b2f2f6a11")
	}
}

func BenchmarkCountRequest(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		countRequest("GET", "/buckets/main/collections/tasks/records/0c5a4d6e-3f0b-4a47-9f1d-9c1b2f2f6a11", 200)
	}
}
