package upstream

import (
	"context"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/tidwall/gjson"

	"github.com/changegate/changegate/kinto"
)

// run polls until Close: one round every PollInterval (±20%), or at once
// when nudged; while the upstream is unavailable the delay doubles up to
// MaxBackoff, and a round stops at its first failure, so that an absent
// upstream costs one request per delay.
func (s *Source) run() {
	defer close(s.done)
	delay := s.opts.PollInterval
	s.health.backoff.Store(int64(delay))
	timer := time.NewTimer(jitter(delay))
	defer timer.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-timer.C:
		case <-s.nudge:
		}
		err := s.round(s.ctx)
		switch {
		case s.ctx.Err() != nil:
			return
		case isUnavailable(err):
			delay = min(2*delay, s.opts.MaxBackoff)
		default:
			delay = s.opts.PollInterval
			if err != nil {
				s.logger.Warn("polling the upstream", "upstream", s.opts.URL, "error", err)
			}
		}
		s.health.backoff.Store(int64(delay))
		timer.Reset(jitter(delay))
	}
}

// Nudge asks for a poll round now (after a write the sidecar could not
// read, such as a batch answer too large to keep).
func (s *Source) Nudge() {
	select {
	case s.nudge <- struct{}{}:
	default:
	}
}

// jitter spreads d by ±20%, so that sidecars started together do not poll
// in step.
func jitter(d time.Duration) time.Duration {
	return time.Duration(float64(d) * (0.8 + 0.4*rand.Float64()))
}

// round lists the monitored buckets when due, then polls every watched
// collection, PollConcurrency at a time.
func (s *Source) round(ctx context.Context) error {
	err := s.relist(ctx)
	if err == nil {
		err = s.pollAll(ctx)
	}
	_ = s.check(err)
	s.observeRound(err)
	return err
}

// pollAll polls the watched collections; the first unavailable answer
// stops the round.
func (s *Source) pollAll(ctx context.Context) error {
	type job struct {
		k       kinto.Key
		records int64
	}
	s.mu.Lock()
	jobs := make([]job, 0, len(s.watched))
	for k, w := range s.watched {
		jobs = append(jobs, job{k, w.records})
	}
	s.mu.Unlock()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	sem := make(chan struct{}, s.opts.PollConcurrency)
	for _, j := range jobs {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := s.pollOne(ctx, j.k, j.records); err != nil {
				once.Do(func() { first = err })
				if isUnavailable(err) {
					cancel()
				}
			}
		})
	}
	wg.Wait()
	return first
}

// pollOne asks whether a collection's records changed since the
// timestamp known (If-None-Match: a 304 costs the upstream no listing).
func (s *Source) pollOne(ctx context.Context, k kinto.Key, known int64) error {
	hd := s.serviceHeaders()
	if known > 0 {
		hd.Set("If-None-Match", strconv.Quote(strconv.FormatInt(known, 10)))
	}
	resp, err := s.client.get(ctx, recordsPath(k), url.Values{"_limit": {"1"}}, hd)
	if err != nil {
		return err
	}
	if s.statusChanged(k, resp.status) && resp.status >= 400 && resp.status != http.StatusNotFound {
		// Logged once per change of answer, not every round.
		s.logger.Warn("polling a collection", "bucket", k.Bucket, "collection", k.Collection,
			"status", resp.status, "error", upstreamError(resp).Message)
	}
	switch resp.status {
	case http.StatusOK:
		if ts := resp.etag(); ts > known {
			s.emit(kinto.Event{Kind: kinto.KindRecord, Bucket: k.Bucket, Collection: k.Collection, Timestamp: ts})
		}
	case http.StatusNotFound:
		s.gone(k)
	}
	return nil
}

// statusChanged records the status of a collection's last poll and
// reports whether it differs from the one before.
func (s *Source) statusChanged(k kinto.Key, status int) bool {
	if status == http.StatusNotModified {
		status = http.StatusOK
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w := s.watched[k]
	if w == nil || w.status == status {
		return false
	}
	w.status = status
	return true
}

// gone reports a collection the upstream no longer has, once, and stops
// watching it unless Resources names it.
func (s *Source) gone(k kinto.Key) {
	s.mu.Lock()
	w := s.watched[k]
	known := w != nil && (w.records > 0 || w.meta > 0)
	if !known {
		s.forget(k)
	}
	s.mu.Unlock()
	if known {
		s.emit(kinto.Event{Kind: kinto.KindCollection, Bucket: k.Bucket, Collection: k.Collection, Deleted: true})
	}
}

// relist lists the collections of the monitored buckets when
// RelistInterval has passed (or never was).
func (s *Source) relist(ctx context.Context) error {
	s.mu.Lock()
	due := time.Since(s.listedAt) >= s.opts.RelistInterval
	s.mu.Unlock()
	if !due {
		return nil
	}
	for _, uri := range s.opts.Resources {
		bucket, coll, _ := parseResource(uri)
		if coll != "" {
			continue
		}
		if err := s.listBucket(ctx, bucket); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.listedAt = time.Now()
	s.mu.Unlock()
	return nil
}

// listBucket watches every collection of a bucket, and reports those
// that left it.
func (s *Source) listBucket(ctx context.Context, bucket string) error {
	ids, found, err := s.collectionIDs(ctx, bucket)
	switch {
	case isUnavailable(err):
		return err
	case err != nil:
		s.warnListing(bucket, err.Error())
		return nil
	case !found:
		ids = map[string]bool{}
	}
	s.warnListing(bucket, "")
	var gone []kinto.Key
	s.mu.Lock()
	for id := range ids {
		k := kinto.Key{Bucket: bucket, Collection: id}
		w := s.watched[k]
		if w == nil {
			w = &watched{}
			s.watched[k] = w
		} else if !w.listed {
			s.adhoc--
		}
		w.listed = true
	}
	for k, w := range s.watched {
		if k.Bucket == bucket && w.listed && !w.explicit && !ids[k.Collection] {
			w.listed = false
			s.adhoc++
			gone = append(gone, k)
		}
	}
	s.mu.Unlock()
	for _, k := range gone {
		s.gone(k)
	}
	return nil
}

// warnListing logs a bucket listing's failure once, until it changes or
// the listing succeeds (msg "").
func (s *Source) warnListing(bucket, msg string) {
	s.mu.Lock()
	last := s.listErrs[bucket]
	s.listErrs[bucket] = msg
	s.mu.Unlock()
	if msg != "" && msg != last {
		s.logger.Warn("listing a monitored bucket", "bucket", bucket, "error", msg)
	}
}

// collectionIDs lists a bucket's collection ids, following Next-Page;
// found is false when the bucket does not exist.
func (s *Source) collectionIDs(ctx context.Context, bucket string) (ids map[string]bool, found bool, err error) {
	hd := s.serviceHeaders()
	resp, err := s.client.get(ctx, "/buckets/"+bucket+"/collections", url.Values{"_fields": {"id"}}, hd)
	ids = map[string]bool{}
	for {
		switch {
		case err != nil:
			return nil, false, err
		case resp.status == http.StatusNotFound:
			return nil, false, nil
		case resp.status != http.StatusOK:
			return nil, false, upstreamError(resp)
		}
		for _, id := range gjson.GetBytes(resp.body, "data.#.id").Array() {
			ids[id.String()] = true
		}
		next := resp.header.Get("Next-Page")
		if next == "" {
			return ids, true, nil
		}
		u, perr := s.client.nextPage(next)
		if perr != nil {
			return nil, false, perr
		}
		resp, err = s.client.getURL(ctx, u, hd)
	}
}

// recordsPath and collectionPath are a collection's URLs below the API
// root.
func recordsPath(k kinto.Key) string { return collectionPath(k) + "/records" }

func collectionPath(k kinto.Key) string {
	return "/buckets/" + k.Bucket + "/collections/" + k.Collection
}
