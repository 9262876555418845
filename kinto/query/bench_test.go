package query

import (
	"fmt"
	"testing"
)

// benchObjects builds n records with a mix of field types.
func benchObjects(b *testing.B, n int) []map[string]any {
	objs := make([]map[string]any, n)
	for i := range objs {
		objs[i] = mustDecode(b, fmt.Sprintf(
			`{"id":"r%05d","last_modified":%d,"title":"title %d","n":%d,"score":%d.5,"tags":["t%d","common"],"meta":{"lang":"l%d"}}`,
			i, 1000000+i, i%97, i%50, i%13, i%7, i%5))
	}
	return objs
}

// BenchmarkMatchSort filters and sorts 10,000 objects as a list request
// with filters and a custom sort does.
func BenchmarkMatchSort(b *testing.B) {
	objs := benchObjects(b, 10000)
	q := mustParse(b, "_since=1000100&gt_n=5&contains_tags=common&meta.lang=l1&_sort=-score,title", Options{})
	found := make([]map[string]any, 0, len(objs))
	b.ReportAllocs()
	for b.Loop() {
		found = found[:0]
		for _, o := range objs {
			if q.Match(o) {
				found = append(found, o)
			}
		}
		q.SortObjects(found)
	}
	b.ReportMetric(float64(len(found)), "matches")
}

// BenchmarkMatchSortAll sorts all 10,000 objects on two fields.
func BenchmarkMatchSortAll(b *testing.B) {
	objs := benchObjects(b, 10000)
	q := mustParse(b, "_sort=title,-n", Options{})
	found := make([]map[string]any, 0, len(objs))
	b.ReportAllocs()
	for b.Loop() {
		found = found[:0]
		for _, o := range objs {
			if q.Match(o) {
				found = append(found, o)
			}
		}
		q.SortObjects(found)
	}
}
