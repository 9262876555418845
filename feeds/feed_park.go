package feeds

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Parking: an idle longpoll over HTTP/1.x holds no request goroutine.
//
// Once its headers and opening went out (chunked, as before) and it has
// nothing to send, the handler takes the connection off net/http
// (http.ResponseController.Hijack, through Caddy's wrappers) and returns:
// net/http's bufio buffers and both of its goroutines go away. What is
// left is a parkedFeed in its topic, a timer for the feed's timeout, and
// what notices the client leaving: on Linux an entry in the process's
// epoll set (feed_hangup_linux.go), elsewhere one goroutine blocked in a
// 1-byte Read (its stack stays at the minimum). A topic event hands the
// parked feeds to a few workers, which read through the topic's shared page (one
// storage read per wake-up), write the rest of the body as the last
// chunk and close: the connection was announced "Connection: close", as
// it cannot go back to net/http. A feed whose read found nothing for it
// (filter=_doc_ids) parks again.

// parkWriteTimeout bounds the answer's write, so that a client that does
// not read cannot hold a worker.
const parkWriteTimeout = 10 * time.Second

// parkState says who owns a parked feed's fields.
type parkState int

const (
	// parkNew and parkWaking: the handler or a worker owns the feed; a
	// timeout, a client leaving or a shutdown is recorded in reason and
	// acted on by the owner.
	parkNew parkState = iota
	parkWaking
	// parkParked: in its topic's set; whoever takes it out owns it.
	parkParked
	parkDone
)

// parkReason is why a parked feed ends without rows.
type parkReason int

const (
	reasonNone parkReason = iota
	reasonTimeout
	reasonStop
	reasonGone
)

// parkedFeed is one idle longpoll off its request goroutine. state and
// reason are guarded by the topic's mutex.
type parkedFeed struct {
	f       *feed
	conn    net.Conn
	chunked bool
	leave   func()
	timer   *time.Timer
	period  time.Duration
	state   parkState
	reason  parkReason
	// key is shareKey's, made at position keyAt.
	key   string
	keyAt feedCursor
	// closeQueued: the wake queue closes conn, not the watch.
	closeQueued atomic.Bool
	// hangupID is the feed's id in the hangup watcher, guarded by the
	// watcher's mutex (0: a goroutine watches it).
	hangupID int32
}

// canPark reports whether a longpoll that found nothing to send would
// wait idle without a heartbeat over HTTP/1.x, the case parking serves;
// the handler then announces Connection: close before its headers.
func (f *feed) canPark(r *http.Request, over bool) bool {
	return over && len(f.out) == 0 && !f.gone && r.ProtoMajor == 1 &&
		f.fr.feed == feedLongpoll && !f.fr.descending && f.fr.heartbeat == 0 &&
		!f.h.stopped()
}

// stopped reports whether Shutdown was called.
func (h *Handler) stopped() bool {
	select {
	case <-h.stop:
		return true
	default:
		return false
	}
}

// park hands the waiting longpoll over to its topic; false leaves it to
// the request goroutine (rows were sent after all, an encoded body, a
// writer that cannot be hijacked). leave is the topic's: park owns it
// when true.
func (f *feed) park(w http.ResponseWriter, r *http.Request, leave func()) bool {
	if f.sent > 0 || f.gone || f.revoked() || f.fw.err != nil || w.Header().Get("Content-Encoding") != "" {
		// A compressed body cannot be continued by hand.
		return false
	}
	if f.access != nil {
		if err := f.access.detach(f.h.access); err != nil {
			// The reader cannot be kept: the request goroutine waits.
			return false
		}
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return false
	}
	// net/http may have left its server timeouts on the connection.
	_ = conn.SetDeadline(time.Time{})
	var in io.Reader = conn
	if brw.Reader.Buffered() > 0 {
		// The client sent more (a pipelined request): read it through
		// what net/http buffered; it gets an answer to this one only.
		in = brw.Reader
	}
	period, _ := f.h.waitPeriod(f.fr)
	p := &parkedFeed{f: f, conn: conn, chunked: r.ProtoAtLeast(1, 1), leave: leave, period: period}
	f.fw = nil
	p.shareKey()
	p.timer = time.AfterFunc(period, func() { p.finish(reasonTimeout) })
	if !parking.add(f.h, p) {
		p.finish(reasonStop)
	}
	// The watch starts before the feed can be answered, so that release
	// always comes after it.
	watched := in == io.Reader(conn) && watchHangup(p)
	p.register()
	if !watched {
		go p.watch(in)
	}
	return true
}

// watch waits in a goroutine for the client to go away, where
// watchHangup cannot; bytes it sends meanwhile are dropped (a pipelined
// request is not answered: the connection closes).
func (p *parkedFeed) watch(in io.Reader) {
	b := make([]byte, 1)
	for {
		if _, err := in.Read(b); err != nil {
			break
		}
	}
	p.left()
}

// left ends a feed whose client went away. An answered feed's
// connection is left to the wake queue, which closes it after the
// event's other answers went out.
func (p *parkedFeed) left() {
	if p.closeQueued.Load() {
		return
	}
	p.finish(reasonGone)
	p.close()
}

// finish ends a parked feed for reason; an owner (handler or worker)
// acts on it when it is done with the feed.
func (p *parkedFeed) finish(reason parkReason) {
	t := p.f.topic
	t.mu.Lock()
	switch p.state {
	case parkDone:
		t.mu.Unlock()
		return
	case parkNew, parkWaking:
		if p.reason == reasonNone {
			p.reason = reason
		}
		t.mu.Unlock()
		return
	}
	delete(t.parked, p)
	p.state = parkDone
	t.mu.Unlock()
	p.conclude(reason)
}

// register parks the feed in its topic, or hands it to a worker at once
// when an event came since its last read began; an owner's recorded
// reason ends it instead.
func (p *parkedFeed) register() {
	t := p.f.topic
	t.mu.Lock()
	switch {
	case p.reason != reasonNone:
		p.state = parkDone
		t.mu.Unlock()
		p.conclude(p.reason)
		return
	case t.gen != p.f.gen:
		p.state = parkWaking
		t.mu.Unlock()
		t.wakes.push(p)
		return
	}
	if t.parked == nil {
		t.parked = map[*parkedFeed]struct{}{}
	}
	t.parked[p] = struct{}{}
	p.state = parkParked
	t.mu.Unlock()
}

// wake runs in a worker: read what the event brought, answer with it or
// park again. Listeners that asked the same get the same bytes, rendered
// once per event.
func (p *parkedFeed) wake() {
	f := p.f
	_, f.gen = f.topic.wait()
	key := p.shareKey()
	if out := f.topic.answer(key, f.gen); out != nil {
		// Another listener's answer: its rows were read before this
		// check, as round's are.
		if f.allowed() {
			p.end()
			p.sendThenClose(out)
			return
		}
		p.sendRevoked()
		return
	}
	f.fw = newBufferedFeedWriter()
	if err := f.round(context.Background()); err != nil {
		f.h.logger.Error("reading changes for a feed", "error", err)
		p.end()
		p.close()
		return
	}
	switch {
	case f.revoked():
		p.sendRevoked()
		return
	case f.sent > 0 || f.gone:
		out := p.render()
		f.topic.keepAnswer(key, f.gen, out)
		p.end()
		p.sendThenClose(out)
		return
	}
	f.fw = nil
	// The idle timer restarts with every change of the collection, as
	// the request goroutine's does.
	p.timer.Reset(p.period)
	p.register()
}

// sendRevoked answers a feed whose reader lost the read permission with
// no row: the empty answer at the position the reader had reached, its
// own (never shared: it depends on who asks).
func (p *parkedFeed) sendRevoked() {
	f := p.f
	f.fw = newBufferedFeedWriter()
	out := p.render()
	p.end()
	p.sendThenClose(out)
}

// shareKey names what a woken feed's answer depends on besides the
// event: where it reads from and how it renders ("": not shared, a
// filter's answer is its own).
// It is made once per position: building it per answer would cost as
// much as the rest of the answer's user-space work.
func (p *parkedFeed) shareKey() string {
	f := p.f
	if f.fr.docIDs != nil {
		return ""
	}
	if p.key == "" || p.keyAt != f.cur {
		p.keyAt = f.cur
		p.key = f.src.flightKey(f.cur, f.readLimit(), false) +
			fmt.Sprintf("\x00%t\x00%d\x00%d\x00%t", f.fr.includeDocs, f.fr.seqInterval, f.fr.limit, p.chunked)
	}
	return p.key
}

// end marks an owned feed done and releases what it holds.
func (p *parkedFeed) end() {
	t := p.f.topic
	t.mu.Lock()
	p.state = parkDone
	t.mu.Unlock()
	p.release()
}

func (p *parkedFeed) release() {
	p.timer.Stop()
	parking.remove(p.f.h, p)
	p.leave()
}

// conclude ends a feed taken out of its topic: the empty answer for a
// timeout or a shutdown, nothing for a client that left.
func (p *parkedFeed) conclude(reason parkReason) {
	p.release()
	if reason == reasonGone {
		feedGone.add(feedLongpoll, 1)
		p.close()
		return
	}
	p.f.fw = newBufferedFeedWriter()
	p.answer()
}

// answer ends the body and sends it.
func (p *parkedFeed) answer() { p.send(p.render()) }

// render ends the body and frames the rest of it (the rows taken and the
// end) as the last chunk.
func (p *parkedFeed) render() []byte {
	f := p.f
	f.fw.end(f.src.appendSeq(nil, f.cur), f.pending)
	body := f.fw.w.(*feedBuffer).b
	if !p.chunked {
		return body
	}
	out := strconv.AppendInt(make([]byte, 0, len(body)+16), int64(len(body)), 16)
	out = append(out, "\r\n"...)
	out = append(out, body...)
	return append(out, "\r\n0\r\n\r\n"...)
}

// send writes the answer and closes.
func (p *parkedFeed) send(out []byte) {
	p.write(out)
	p.close()
}

// sendThenClose writes the answer now and leaves the close to the wake
// queue, which closes once the answers of the event are out: a close
// costs more than the write (its FIN, the socket's teardown), and the
// client already has its whole answer, the chunked body's end, without
// it.
func (p *parkedFeed) sendThenClose(out []byte) {
	if !p.chunked {
		// An HTTP/1.0 body ends with the connection: closing is the end
		// of the answer.
		p.send(out)
		return
	}
	// A client that reads its answer and leaves at once must not have
	// watch close ahead of the others' answers either.
	p.closeQueued.Store(true)
	p.write(out)
	p.f.topic.wakes.closeLater(p)
}

// write sends the rest of the answer. What the client sent is read and
// dropped until the connection closes, so the close that follows sends
// a FIN after the answer, not a reset that could destroy it.
func (p *parkedFeed) write(out []byte) {
	_ = p.conn.SetWriteDeadline(time.Now().Add(parkWriteTimeout))
	n, _ := p.conn.Write(out)
	feedBytes.add(feedLongpoll, n)
}

// close closes the connection, which also ends its watch.
func (p *parkedFeed) close() {
	forgetHangup(p)
	p.conn.Close()
}

// feedBuffer is the ResponseWriter a parked feed renders into, with the
// same feedWriter as the request goroutine, so the bytes are the same.
// It is not a recorder.Recorder: there is no ResponseWriter behind it,
// its bytes go to the hijacked connection (parkedFeed.write).
type feedBuffer struct {
	h http.Header
	b []byte
}

func (fb *feedBuffer) Header() http.Header {
	if fb.h == nil {
		fb.h = http.Header{}
	}
	return fb.h
}
func (fb *feedBuffer) Write(b []byte) (int, error) { fb.b = append(fb.b, b...); return len(b), nil }
func (fb *feedBuffer) WriteHeader(int)             {}

// newBufferedFeedWriter continues a longpoll whose opening went out.
func newBufferedFeedWriter() *feedWriter {
	fb := &feedBuffer{}
	return &feedWriter{w: fb, rc: http.NewResponseController(fb), feed: feedLongpoll}
}

// wakeQueue runs parked feeds' wake-ups on at most GOMAXPROCS workers,
// started on demand and gone when the queue is empty. The connections of
// answered feeds close later (RFC 9112 §9.6: the server that said "close"
// initiates the closing after the response; the client already has the
// whole answer, the chunked body's end): once no wake-up has run for
// closeQuiet, or closeMaxDelay after the first of them waited. A close
// costs the server about twice the answer's write (its FIN, the socket's
// teardown, over loopback the client's side of both too), so closing
// while answers still go out, in this process or in another on the same
// machine (another instance, the clients), would delay those answers.
type wakeQueue struct {
	mu      sync.Mutex
	items   []*parkedFeed
	closing []*parkedFeed
	running int
	// closer closes the waiting connections when it fires; since is
	// when the first of them began to wait, woke when a wake-up last ran.
	closer      *time.Timer
	since, woke time.Time
}

// Deferred closes: at most maxDeferredCloses connections wait (past it a
// connection closes at once), until the queue has been idle closeQuiet,
// for at most closeMaxDelay.
const (
	maxDeferredCloses = 1 << 16
	closeQuiet        = 200 * time.Millisecond
	closeMaxDelay     = time.Second
)

// closeLater closes p's connection once the queue has been quiet.
func (q *wakeQueue) closeLater(p *parkedFeed) {
	q.mu.Lock()
	later := len(q.closing) < maxDeferredCloses
	if later {
		if len(q.closing) == 0 {
			q.since = time.Now()
		}
		q.closing = append(q.closing, p)
		if q.closer == nil {
			q.closer = time.AfterFunc(closeQuiet, q.closeWaiting)
		}
	}
	q.mu.Unlock()
	if !later {
		p.close()
	}
}

// closeWaiting closes the waiting connections, or looks again later
// while wake-ups run or ran less than closeQuiet ago.
func (q *wakeQueue) closeWaiting() {
	q.mu.Lock()
	now := time.Now()
	if busy := q.running > 0 || now.Sub(q.woke) < closeQuiet; busy && now.Sub(q.since) < closeMaxDelay {
		q.closer.Reset(max(closeQuiet-now.Sub(q.woke), closeQuiet/4))
		q.mu.Unlock()
		return
	}
	cs := q.closing
	q.closing, q.closer = nil, nil
	q.mu.Unlock()
	for _, p := range cs {
		p.close()
	}
}

func (q *wakeQueue) push(ps ...*parkedFeed) {
	q.mu.Lock()
	q.items = append(q.items, ps...)
	n := min(len(q.items), runtime.GOMAXPROCS(0)-q.running)
	q.running += max(n, 0)
	q.mu.Unlock()
	for range n {
		go q.work()
	}
}

func (q *wakeQueue) work() {
	for {
		q.mu.Lock()
		q.woke = time.Now()
		if len(q.items) == 0 {
			q.items = nil
			q.running--
			q.mu.Unlock()
			return
		}
		p := q.items[0]
		q.items[0] = nil
		q.items = q.items[1:]
		q.mu.Unlock()
		p.wake()
	}
}

// parking tracks the parked feeds of each handler, so that its Shutdown
// (config reload, server stop) answers them: they are no longer requests
// the server waits for. A handler's watcher goroutine lives while it has
// parked feeds.
var parking = parkRegistry{sets: map[*Handler]*parkSet{}}

type parkRegistry struct {
	mu   sync.Mutex
	sets map[*Handler]*parkSet
}

type parkSet struct {
	feeds map[*parkedFeed]struct{}
	quit  chan struct{}
}

// add records p; false when h is already shut down.
func (r *parkRegistry) add(h *Handler, p *parkedFeed) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if h.stopped() {
		return false
	}
	s := r.sets[h]
	if s == nil {
		s = &parkSet{feeds: map[*parkedFeed]struct{}{}, quit: make(chan struct{})}
		r.sets[h] = s
		go r.watch(h, s)
	}
	s.feeds[p] = struct{}{}
	return true
}

func (r *parkRegistry) remove(h *Handler, p *parkedFeed) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sets[h]
	if s == nil {
		return
	}
	delete(s.feeds, p)
	if len(s.feeds) == 0 {
		delete(r.sets, h)
		close(s.quit)
	}
}

// watch answers h's parked feeds when h shuts down.
func (r *parkRegistry) watch(h *Handler, s *parkSet) {
	select {
	case <-s.quit:
		return
	case <-h.stop:
	}
	r.mu.Lock()
	ps := make([]*parkedFeed, 0, len(s.feeds))
	for p := range s.feeds {
		ps = append(ps, p)
	}
	r.mu.Unlock()
	for _, p := range ps {
		p.finish(reasonStop)
	}
}
