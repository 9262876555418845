package ratelimit

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// want is the expected outcome of one request.
type want struct {
	allowed   bool
	remaining int64
	reset     time.Duration
	next      time.Duration
}

func (w want) check(t *testing.T, step string, d Decision) {
	t.Helper()
	s := d.States[0]
	got := want{d.Allowed, s.Remaining, s.Reset, s.Next}
	if got != w {
		t.Fatalf("%s: got %+v, want %+v", step, got, w)
	}
}

// TestExactlyNThenRefusedThenReset: 3 events per minute (one earned back
// every 20s). Exactly 3 pass, then 429s that do not push the wait further
// (Eve's bug), one more after 20s, the whole budget after the window.
func TestExactlyNThenRefusedThenReset(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store, clock *fakeClock) {
		hit := Hit{Key: "api:*:0:alice", Limit: Limit{Events: 3, Window: time.Minute}}
		sec := time.Second
		want{true, 2, 20 * sec, 20 * sec}.check(t, "1st", take(t, s, hit))
		want{true, 1, 40 * sec, 20 * sec}.check(t, "2nd", take(t, s, hit))
		want{true, 0, 60 * sec, 20 * sec}.check(t, "3rd", take(t, s, hit))
		for i := range 5 {
			clock.Advance(time.Second)
			w := 20*sec - time.Duration(i+1)*sec
			want{false, 0, 60*sec - time.Duration(i+1)*sec, w}.check(t, "hammering", take(t, s, hit))
		}
		clock.Advance(15 * time.Second) // 20s after the 3rd request
		want{true, 0, 60 * sec, 20 * sec}.check(t, "earned back", take(t, s, hit))
		want{false, 0, 60 * sec, 20 * sec}.check(t, "spent again", take(t, s, hit))
		clock.Advance(time.Minute)
		for i := range 3 {
			want{true, int64(2 - i), time.Duration(i+1) * 20 * sec, 20 * sec}.check(t, "after the window", take(t, s, hit))
		}
		want{false, 0, 60 * sec, 20 * sec}.check(t, "4th after the window", take(t, s, hit))
	})
}

// TestKeysAreIndependent: one client's spending leaves another's alone.
func TestKeysAreIndependent(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store, _ *fakeClock) {
		l := Limit{Events: 1, Window: time.Second}
		if !take(t, s, Hit{"z:*:0:a", l}).Allowed || take(t, s, Hit{"z:*:0:a", l}).Allowed {
			t.Fatal("a: want allowed then refused")
		}
		if !take(t, s, Hit{"z:*:0:b", l}).Allowed {
			t.Fatal("b was refused because of a")
		}
	})
}

// TestSeveralLimitsAllOrNothing: a request refused by one limit spends
// nothing from the others, and the tightest limit answers.
func TestSeveralLimitsAllOrNothing(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store, _ *fakeClock) {
		wide := Hit{"wide:*:0:a", Limit{Events: 10, Window: time.Minute}}
		narrow := Hit{"narrow:*:0:a", Limit{Events: 2, Window: 10 * time.Second}}
		for i := range 2 {
			d := take(t, s, wide, narrow)
			if !d.Allowed || d.Tightest() != 1 || d.States[0].Remaining != int64(9-i) || d.States[1].Remaining != int64(1-i) {
				t.Fatalf("request %d: %+v", i+1, d)
			}
		}
		d := take(t, s, wide, narrow)
		if d.Allowed || !d.States[0].Allowed || d.States[1].Allowed || d.Tightest() != 1 {
			t.Fatalf("3rd request: %+v", d)
		}
		if d.States[0].Remaining != 8 || d.RetryAfter() != 5*time.Second {
			t.Fatalf("3rd request spent the wide limit or waits wrong: %+v, retry after %s", d, d.RetryAfter())
		}
		if d := take(t, s, wide); !d.Allowed || d.States[0].Remaining != 7 {
			t.Fatalf("wide alone: %+v", d)
		}
	})
}

// TestConcurrentExactlyLimit: 200 concurrent requests against a limit of
// 50 in a window none of them can earn anything back in: exactly 50 pass.
func TestConcurrentExactlyLimit(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store, _ *fakeClock) {
		hit := Hit{"api:*:0:crowd", Limit{Events: 50, Window: time.Hour}}
		var allowed, refused atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for range 200 {
			wg.Go(func() {
				<-start
				var d Decision
				err := s.Take(context.Background(), []Hit{hit}, &d)
				switch {
				case err != nil:
					t.Error(err)
				case d.Allowed:
					allowed.Add(1)
				default:
					refused.Add(1)
				}
			})
		}
		close(start)
		wg.Wait()
		if allowed.Load() != 50 || refused.Load() != 150 {
			t.Fatalf("allowed %d, refused %d; want 50 and 150", allowed.Load(), refused.Load())
		}
	})
}

// TestLimitChangeKeepsState: a key's state is a time, so a new limit (a
// config reload) reads it sensibly: the share of the budget spent carries
// over. Half of 10 spent leaves 2 of 5 (2.5, rounded down).
func TestLimitChangeKeepsState(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store, _ *fakeClock) {
		for range 5 {
			take(t, s, Hit{"z:*:0:a", Limit{Events: 10, Window: 10 * time.Second}})
		}
		d := take(t, s, Hit{"z:*:0:a", Limit{Events: 5, Window: 10 * time.Second}})
		if !d.Allowed || d.States[0].Remaining != 1 {
			t.Fatalf("after halving the limit: %+v", d)
		}
	})
}

func TestLimitValidate(t *testing.T) {
	for _, tc := range []struct {
		limit Limit
		err   string
	}{
		{Limit{Events: 1, Window: time.Second}, ""},
		{Limit{Events: 1_000_000, Window: time.Second}, ""},
		{Limit{Events: 0, Window: time.Second}, "events must be at least 1, got 0"},
		{Limit{Events: 1, Window: 500 * time.Millisecond}, "window must be a whole number of seconds, at least 1s, got 500ms"},
		{Limit{Events: 1, Window: 1500 * time.Millisecond}, "window must be a whole number of seconds, at least 1s, got 1.5s"},
		{Limit{Events: 2_000_000, Window: time.Second}, "more than one event per microsecond is not supported"},
	} {
		err := tc.limit.Validate()
		if (err == nil) != (tc.err == "") || (err != nil && err.Error() != tc.err) {
			t.Errorf("%v: got %v, want %q", tc.limit, err, tc.err)
		}
	}
}
