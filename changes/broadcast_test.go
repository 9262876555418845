package changes

import (
	"log/slog"
	"testing"
	"time"
)

// The reference's test_broadcasts.py, row by row: a fake clock, a fake
// monitored timestamp and a preset cache.

var (
	fakeNow       = time.Date(2023, 10, 1, 12, 0, 0, 0, time.UTC)
	fakeTimestamp = fakeNow.UnixMilli()
	quiet         = slog.New(slog.DiscardHandler)
)

// ago is the timestamp of fakeNow minus d.
func ago(d time.Duration) int64 { return fakeNow.Add(-d).UnixMilli() }

// preset is a broadcast state whose cache holds ts.
func preset(ts int64) *broadcastState {
	return &broadcastState{published: ts, expires: fakeNow.Add(broadcastTTL)}
}

// counted returns a timestamp source and the number of times it was read.
func counted(ts *int64) (func() int64, *int) {
	calls := new(int)
	return func() int64 { *calls++; return *ts }, calls
}

func TestBroadcastFirstCallReturnsCurrentVersion(t *testing.T) {
	ts := fakeTimestamp
	current, _ := counted(&ts)
	var b broadcastState
	if got := b.version(fakeNow, 5*time.Minute, current, quiet); got != fakeTimestamp {
		t.Fatalf("got %d, want %d", got, fakeTimestamp)
	}
}

func TestBroadcastReturnsCurrentValueIfUpToDate(t *testing.T) {
	ts := fakeTimestamp
	current, calls := counted(&ts)
	var b broadcastState
	for range 2 {
		if got := b.version(fakeNow, 5*time.Minute, current, quiet); got != fakeTimestamp {
			t.Fatalf("got %d", got)
		}
	}
	if *calls != 1 {
		t.Fatalf("storage read %d times, want once (second call cached)", *calls)
	}
}

func TestBroadcastNotReadWhenLastPublishedIsYoungerThanDebounce(t *testing.T) {
	old := ago(3 * time.Minute)
	ts := fakeTimestamp
	current, calls := counted(&ts)
	if got := preset(old).version(fakeNow, 5*time.Minute, current, quiet); got != old || *calls != 0 {
		t.Fatalf("got %d after %d reads, want %d after none", got, *calls, old)
	}
}

func TestBroadcastIgnoresIntermediaryVersions(t *testing.T) {
	var b broadcastState
	var obtained []int64
	for age := 12; age > 5; age-- {
		now := fakeNow.Add(-time.Duration(age) * time.Minute)
		ts := ago(time.Duration(age+1) * time.Minute)
		obtained = append(obtained, b.version(now, 5*time.Minute, func() int64 { return ts }, quiet))
	}
	for i := 1; i < 6; i++ {
		if obtained[i] != obtained[0] {
			t.Fatalf("intermediary version published: %v", obtained)
		}
	}
	if obtained[6] == obtained[0] {
		t.Fatalf("last version not published: %v", obtained)
	}
}

func TestBroadcastReturnsCacheIfCachedAndCurrentAreOld(t *testing.T) {
	latest := ago(6 * time.Minute)
	if got := preset(latest).version(fakeNow, 5*time.Minute, func() int64 { return latest }, quiet); got != latest {
		t.Fatalf("got %d, want %d", got, latest)
	}
}

func TestBroadcastReturnsCacheIfLatestChangeIsTooClose(t *testing.T) {
	latest, cached := ago(2*time.Minute), ago(6*time.Minute)
	if got := preset(cached).version(fakeNow, 5*time.Minute, func() int64 { return latest }, quiet); got != cached {
		t.Fatalf("got %d, want the cached %d", got, cached)
	}
}

func TestBroadcastPublishesWhenLatestIsFarFromLastPublished(t *testing.T) {
	latest, cached := ago(2*time.Minute), ago(8*time.Minute)
	if got := preset(cached).version(fakeNow, 5*time.Minute, func() int64 { return latest }, quiet); got != latest {
		t.Fatalf("got %d, want %d", got, latest)
	}
}

func TestBroadcastPublishesWhenLatestIsOlderThanDebounce(t *testing.T) {
	latest, cached := ago(6*time.Minute), ago(8*time.Minute)
	if got := preset(cached).version(fakeNow, 5*time.Minute, func() int64 { return latest }, quiet); got != latest {
		t.Fatalf("got %d, want %d", got, latest)
	}
}

// TestBroadcastCacheExpires: after a day without a new published value,
// the cache entry is gone and the current timestamp is published.
func TestBroadcastCacheExpires(t *testing.T) {
	b := preset(ago(time.Minute))
	later := fakeNow.Add(broadcastTTL + time.Second)
	if got := b.version(later, 5*time.Minute, func() int64 { return fakeTimestamp + 5 }, quiet); got != fakeTimestamp+5 {
		t.Fatalf("got %d", got)
	}
}
