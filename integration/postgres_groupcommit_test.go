package integration

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
)

// TestPostgresConcurrentWritesOwnResults: 2 instances × 8 writers at
// once, each creating the same record with If-None-Match: * and a record
// of its own. Writes that arrive together share a transaction (group
// commit), yet each gets its own answer: exactly one creation of the
// shared record succeeds and every other is refused with 412 (those that
// meet the winner in its batch are rolled back alone), every record of
// its own is created with a timestamp of its own, and the list has them
// all at the timestamps the answers gave.
func TestPostgresConcurrentWritesOwnResults(t *testing.T) {
	a, b := startPair(t)
	const writers = 8
	type answer struct {
		id     string
		status int
		lm     int64
		err    error
	}
	answers := make(chan answer, 4*writers)
	start := make(chan struct{})
	var wg sync.WaitGroup
	put := func(v1, id string, headers ...string) {
		<-start
		r, err := tryDo("PUT", v1+"/buckets/main/collections/c/records/"+id, `{"data":{}}`, append(headers, basic("alice"))...)
		ans := answer{id: id, status: r.status, err: err}
		if err == nil && r.status == 201 {
			var body struct {
				Data struct {
					LastModified int64 `json:"last_modified"`
				} `json:"data"`
			}
			ans.err = json.Unmarshal([]byte(r.body), &body)
			ans.lm = body.Data.LastModified
		}
		answers <- ans
	}
	for i, v1 := range []string{a, b} {
		for w := range writers {
			wg.Go(func() { put(v1, "shared", "If-None-Match: *") })
			wg.Go(func() { put(v1, fmt.Sprintf("own-%d-%d", i, w)) })
		}
	}
	close(start)
	wg.Wait()
	close(answers)
	created := map[string]int64{}
	stamps := map[int64]string{}
	shared, refused := 0, 0
	for ans := range answers {
		switch {
		case ans.err != nil:
			t.Fatal(ans.err)
		case ans.status == 201:
			if other, dup := stamps[ans.lm]; dup {
				t.Errorf("%s and %s both answered with last_modified %d", ans.id, other, ans.lm)
			}
			created[ans.id], stamps[ans.lm] = ans.lm, ans.id
			if ans.id == "shared" {
				shared++
			}
		case ans.id == "shared" && ans.status == 412:
			refused++
		default:
			t.Errorf("PUT %s: %d", ans.id, ans.status)
		}
	}
	if shared != 1 || refused != 2*writers-1 {
		t.Errorf("shared record: created %d times, %d refused; want created once and %d refused", shared, refused, 2*writers-1)
	}
	if len(created) != 2*writers+1 {
		t.Errorf("%d records created; want %d", len(created), 2*writers+1)
	}
	for _, v1 := range []string{a, b} {
		var list struct {
			Data []struct {
				ID           string `json:"id"`
				LastModified int64  `json:"last_modified"`
			} `json:"data"`
		}
		r := do(t, "GET", v1+"/buckets/main/collections/c/records", "", basic("alice")).expectStatus(t, 200)
		if err := json.Unmarshal([]byte(r.body), &list); err != nil {
			t.Fatal(err)
		}
		var got, want []string
		for _, rec := range list.Data {
			got = append(got, fmt.Sprintf("%s@%d", rec.ID, rec.LastModified))
		}
		for id, lm := range created {
			want = append(want, fmt.Sprintf("%s@%d", id, lm))
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s lists %v;\nthe answers gave %v", v1, got, want)
		}
	}
}
