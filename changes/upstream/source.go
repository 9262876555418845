package upstream

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/changegate/changegate/internal/cors"
	"github.com/changegate/changegate/kinto"
)

// Source reads an upstream Kinto server: kinto.Source over HTTP.
type Source struct {
	opts   Options
	client *client
	logger *slog.Logger
	health health

	subMu  sync.RWMutex
	subs   map[int]func(kinto.Event)
	nextID int

	mu       sync.Mutex
	watched  map[kinto.Key]*watched
	adhoc    int
	listedAt time.Time
	readers  map[kinto.Key]http.Header
	listErrs map[string]string // last listing failure per bucket
	initOnce sync.Once

	auth *decisions
	cors cors.Policy

	// checkpoints are the replication checkpoints (checkpoints.go).
	checkpoints checkpoints

	nudge   chan struct{}
	started atomic.Bool
	loading atomic.Bool
	ctx     context.Context
	cancel  context.CancelFunc
	done    chan struct{}
}

// New returns a Source over the upstream of opts; Start begins polling.
func New(opts Options) (*Source, error) {
	o, base, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	transport := o.Transport
	if transport == nil {
		t := http.DefaultTransport.(*http.Transport).Clone()
		// Polling keeps up to PollConcurrency requests in flight, and
		// every permission check is one more: keep those connections.
		t.MaxIdleConnsPerHost = max(o.PollConcurrency, 16)
		transport = t
	}
	s := &Source{
		opts:     o,
		client:   &client{base: base, http: &http.Client{Transport: transport, Timeout: o.Timeout, CheckRedirect: noRedirect}, maxBody: o.MaxBody},
		logger:   o.Logger,
		subs:     map[int]func(kinto.Event){},
		watched:  map[kinto.Key]*watched{},
		readers:  map[kinto.Key]http.Header{},
		listErrs: map[string]string{},
		auth:     newDecisions(o.AuthCacheTTL),
		cors:     cors.New(o.CORSOrigins),
		nudge:    make(chan struct{}, 1),
		done:     make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	for _, uri := range o.Resources {
		if b, c, _ := parseResource(uri); c != "" {
			s.watched[kinto.Key{Bucket: b, Collection: c}] = &watched{explicit: true, listed: true}
		}
	}
	return s, nil
}

// noRedirect keeps redirects for the caller to see: an upstream that
// redirects (a trailing slash, a wrong prefix) is misconfigured.
func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// Start begins polling the upstream in the background.
func (s *Source) Start() {
	if s.started.CompareAndSwap(false, true) {
		lastSuccess.Store(s, time.Now())
		go s.run()
	}
}

// Close stops polling and waits for the poller.
func (s *Source) Close() {
	s.cancel()
	if s.started.Load() {
		<-s.done
	}
	s.forgetRounds()
}

// Subscribe calls fn for every change the source learns from now on,
// from observed writes and from polling. fn must not block.
func (s *Source) Subscribe(fn func(kinto.Event)) func() {
	s.subMu.Lock()
	defer s.subMu.Unlock()
	id := s.nextID
	s.nextID++
	s.subs[id] = fn
	return func() {
		s.subMu.Lock()
		delete(s.subs, id)
		s.subMu.Unlock()
	}
}

// emit records ev in the watch list and passes it to the subscribers
// unless it teaches nothing (a timestamp already known).
func (s *Source) emit(ev kinto.Event) {
	// During the first poll the events only fill the watch list: the
	// subscriber gets them all at once from Timestamps.
	if !s.note(ev) || s.loading.Load() {
		return
	}
	s.send(ev)
}

// send passes ev to the subscribers.
func (s *Source) send(ev kinto.Event) {
	s.subMu.RLock()
	fns := make([]func(kinto.Event), 0, len(s.subs))
	for _, fn := range s.subs {
		fns = append(fns, fn)
	}
	s.subMu.RUnlock()
	for _, fn := range fns {
		fn(ev)
	}
}

// Timestamps returns the records timestamp of every watched collection.
// The first call polls the upstream once (expanding the bucket URIs), so
// that a new sidecar starts with the upstream's state; if the upstream
// is unavailable it returns what is known (nothing), and the poller
// fills the registry in when it comes back.
func (s *Source) Timestamps(ctx context.Context) (map[kinto.Key]int64, error) {
	s.initOnce.Do(func() {
		ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
		defer cancel()
		s.loading.Store(true)
		defer s.loading.Store(false)
		if err := s.round(ctx); err != nil {
			s.logger.Warn("first poll of the upstream", "upstream", s.opts.URL, "error", err)
		}
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[kinto.Key]int64, len(s.watched))
	for k, w := range s.watched {
		if w.records > 0 {
			out[k] = w.records
		}
	}
	return out, nil
}

// serviceHeaders are the headers of the source's own requests.
func (s *Source) serviceHeaders() http.Header {
	hd := http.Header{}
	if s.opts.Authorization != "" {
		hd.Set("Authorization", s.opts.Authorization)
	}
	return hd
}

// readHeaders are the headers of a shared read of k (changeset, feed):
// the service credentials, or, without them, those of the last client
// the upstream allowed to read k (see Access.CanRead).
func (s *Source) readHeaders(k kinto.Key) http.Header {
	if s.opts.Authorization != "" {
		return s.serviceHeaders()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if hd := s.readers[k]; hd != nil {
		return hd.Clone()
	}
	return http.Header{}
}

// Unavailable reports since when the upstream has been unreachable (zero
// when it is not).
func (s *Source) Unavailable() time.Time { return s.health.since() }

// check turns a request failure into the error to answer, and keeps the
// upstream's health current.
func (s *Source) check(err error) error {
	if err == nil {
		s.health.up()
		return nil
	}
	if isUnavailable(err) {
		if s.health.down(time.Now()) {
			s.logger.Warn("upstream unavailable", "upstream", s.opts.URL, "error", err)
		}
		return errUnavailable(s.health.retryAfter())
	}
	return err
}
