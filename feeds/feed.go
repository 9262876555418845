package feeds

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/changegate/changegate/kinto"
)

// Paths of the CouchDB-style feeds below a collection URI, and of the
// database-info answer PouchDB asks for first (GET {db}/).
const (
	feedSuffix        = "/_changes"
	monitorFeedPath   = "/buckets/monitor/collections/changes/_changes"
	monitorFeedDBPath = "/buckets/monitor/collections/changes/"
)

// feedRoute finds a feed endpoint in a path below /buckets/.
func feedRoute(rest string) (route, Key) {
	switch rest {
	case monitorFeedPath:
		return routeMonitorFeed, monitorKey
	case monitorFeedDBPath:
		return routeMonitorFeedDB, monitorKey
	}
	bucketRest, ok := strings.CutPrefix(rest, "/buckets/")
	if !ok {
		return routeNone, Key{}
	}
	rt := routeFeed
	coll, ok := strings.CutSuffix(bucketRest, feedSuffix)
	if !ok {
		if coll, ok = strings.CutSuffix(bucketRest, "/"); !ok {
			return routeNone, Key{}
		}
		rt = routeFeedDB
	}
	bid, cid, ok := strings.Cut(coll, "/collections/")
	if !ok || bid == "" || cid == "" || strings.Contains(bid, "/") || strings.Contains(cid, "/") {
		return routeNone, Key{}
	}
	return rt, Key{Bucket: bid, Collection: cid}
}

// serveFeedRoute answers the feed endpoints: GET, HEAD and POST of
// _changes (CouchDB's 405 otherwise), GET and HEAD of the database info
// (other methods go to the next handler).
func (h *Handler) serveFeedRoute(w http.ResponseWriter, r *http.Request, rt route, k Key) bool {
	db := rt == routeFeedDB || rt == routeMonitorFeedDB
	switch {
	case db && r.Method != http.MethodGet && r.Method != http.MethodHead:
		return false
	case !db && r.Method != http.MethodGet && r.Method != http.MethodHead && r.Method != http.MethodPost:
		w.Header().Set("Allow", "GET,POST,HEAD")
		h.sendFeedError(w, r, &feedError{status: http.StatusMethodNotAllowed, error: "method_not_allowed", reason: "Only GET,POST,HEAD allowed"})
		return true
	}
	var src feedSource
	var access *feedAccess
	if rt == routeMonitorFeed || rt == routeMonitorFeedDB {
		src = h.monitorFeed(r)
	} else {
		var err error
		if access, err = h.checkFeedAccess(r, k); err != nil {
			h.sendError(w, r, kinto.ExposeDefault, err)
			return true
		}
		src = &collectionFeed{key: k, src: h.source, hub: h.hub}
	}
	if db {
		h.serveFeedDB(w, r, k, src)
	} else {
		h.serveFeed(w, r, src, access)
	}
	return true
}

// serveFeedDB answers PouchDB's GET {db}/ with what it reads: db_name
// and update_seq (pouchdb-adapter-http setup() and info()).
func (h *Handler) serveFeedDB(w http.ResponseWriter, r *http.Request, k Key, src feedSource) {
	cur, exists, err := src.now(r.Context())
	switch {
	case err != nil:
		h.sendError(w, r, kinto.ExposeDefault, err)
		return
	case !exists:
		h.sendError(w, r, kinto.ExposeDefault, errNotFound())
		return
	}
	name, _ := json.Marshal(k.Bucket + "/" + k.Collection)
	body := append([]byte(`{"db_name":`), name...)
	body = append(body, `,"update_seq":`...)
	body = src.appendSeq(body, cur)
	body = append(body, `,"instance_start_time":"0"}`+"\n"...)
	w.Header().Set("Cache-Control", "must-revalidate")
	h.send(w, r, http.StatusOK, "", body)
}

// sendFeedError answers a CouchDB error, or Kinto's for others.
func (h *Handler) sendFeedError(w http.ResponseWriter, r *http.Request, err error) {
	var fe *feedError
	if !errors.As(err, &fe) {
		h.sendError(w, r, kinto.ExposeDefault, err)
		return
	}
	body, _ := json.Marshal(map[string]string{"error": fe.error, "reason": fe.reason})
	w.Header().Set("Cache-Control", "must-revalidate")
	h.send(w, r, fe.status, "", append(body, '\n'))
}

// feed is one _changes request being served.
type feed struct {
	h   *Handler
	src feedSource
	fr  *feedRequest
	fw  *feedWriter
	// access is the reader's permission, renewed as it may change
	// (feed_access.go); nil for the monitor.
	access *feedAccess
	// cur is where the client resumes; remaining counts rows the limit
	// still allows; sent counts rows sent.
	cur       feedCursor
	remaining int64
	sent      int64
	pending   int
	gone      bool // the collection went away
	topic     *feedTopic
	gen       uint64
	rounds    int
	// waited: the feed went idle once (feed_write.go idle).
	waited bool
	// out holds the rows taken and not yet sent.
	out []feedRow
	// row and seq are buffers rows and seqs are rendered in.
	row, seq []byte
	// etag is a normal feed's entity-tag (feed_etag.go).
	etag string
}

// serveFeed answers GET|POST .../_changes.
func (h *Handler) serveFeed(w http.ResponseWriter, r *http.Request, src feedSource, access *feedAccess) {
	fr, err := parseFeedRequest(r, cmp.Or(h.cfg.FeedHeartbeat, DefaultFeedHeartbeat))
	if err != nil {
		h.sendFeedError(w, r, err)
		return
	}
	if r.Method == http.MethodHead {
		// Headers only: nothing to wait for.
		fr.feed = feedNormal
	}
	f := &feed{h: h, src: src, fr: fr, remaining: fr.limit, access: access}
	if fr.since != "now" && !fr.descending {
		if f.cur, err = src.parseSince(fr.since); err != nil {
			h.sendFeedError(w, r, err)
			return
		}
	}
	// Join before the first read: an event between a read and the wait
	// that follows it is then never lost.
	topic, leave := src.join()
	parked := false
	defer func() {
		if !parked {
			leave()
		}
	}()
	f.topic = topic
	_, f.gen = topic.wait()
	ctx := r.Context()
	if fr.since == "now" || fr.descending {
		cur, exists, err := src.now(ctx)
		if err == nil && !exists {
			err = errNotFound()
		}
		if err != nil {
			h.sendError(w, r, kinto.ExposeDefault, err)
			return
		}
		f.cur = cur
	}
	if f.revalidate(w, r) {
		return
	}
	over, err := f.batch(ctx)
	switch {
	case err != nil:
	case f.gone:
		err = errNotFound()
	case !f.allowed():
		// Revoked between the check and the read: nothing was sent yet,
		// so the reader gets the answer it would get now.
		err = f.access.denied
	}
	if err != nil {
		h.sendError(w, r, kinto.ExposeDefault, err)
		return
	}
	f.fw = newFeedWriter(w, r, fr.feed)
	if f.etag != "" {
		w.Header().Set("ETag", f.etag)
	}
	h.access.Decorate(r, http.StatusOK, w.Header())
	parkable := f.canPark(r, over)
	if parkable {
		// A parked longpoll's connection cannot go back to net/http
		// (feed_park.go).
		w.Header().Set("Connection", "close")
	}
	f.fw.start()
	defer feedOpened(fr.feed)()
	f.sendRows()
	if !over {
		err = f.round(ctx)
	}
	switch {
	case err == nil && parkable && f.park(w, r, leave):
		parked = true
	case err != nil:
		// After the headers: the response ends short, as CouchDB's
		// send_delayed_error does.
		if ctx.Err() == nil {
			h.logger.Error("reading changes for a feed", "error", err)
		}
	case f.follow(ctx):
		f.fw.end(src.appendSeq(nil, f.cur), f.pending)
	}
}

// follow waits for changes as the feed type asks, and reports whether
// the feed ended normally (false: the client went away, or a read
// failed after the headers).
func (f *feed) follow(ctx context.Context) bool {
	period, beat := f.h.waitPeriod(f.fr)
	timer := time.NewTimer(period)
	defer timer.Stop()
	for !f.done() {
		ch, gen := f.topic.wait()
		if gen == f.gen {
			if !f.waited {
				f.waited = true
				if f.sent == 0 {
					f.fw.idle()
				}
			}
			select {
			case <-ch:
				resetTimer(timer, period)
				continue
			case <-timer.C:
				if !beat {
					return true
				}
				f.fw.heartbeat()
				timer.Reset(period)
				continue
			case <-ctx.Done():
				feedGone.add(f.fr.feed, 1)
				return false
			case <-f.h.stop:
				return true
			}
		}
		// Something happened since the last read began: read again.
		f.gen = gen
		if err := f.round(ctx); err != nil {
			if ctx.Err() == nil {
				f.h.logger.Error("reading changes for a feed", "error", err)
			}
			return false
		}
	}
	return f.fw.err == nil
}

// done applies CouchDB's stop rules (fabric_view_changes
// keep_sending_changes): a normal feed, a descending one, continuous and
// eventsource at their limit, longpoll once it sent a row, a collection
// that went away, a client that went away; and ours: a reader who lost
// the read permission.
func (f *feed) done() bool {
	switch {
	case f.fw.err != nil, f.gone, f.revoked(), f.fr.feed == feedNormal, f.fr.descending:
		return true
	case f.fr.feed == feedLongpoll:
		return f.sent > 0
	}
	return f.remaining <= 0
}

// resetTimer restarts t for d whether or not it fired.
func resetTimer(t *time.Timer, d time.Duration) {
	t.Stop()
	t.Reset(d)
}

// waitPeriod is how long a live feed waits idle (couch_changes
// get_changes_timeout): the heartbeat, capped, after which it beats and
// goes on; else the timeout, capped, after which it ends.
func (h *Handler) waitPeriod(fr *feedRequest) (time.Duration, bool) {
	limit := cmp.Or(h.cfg.FeedTimeoutMax, DefaultFeedTimeoutMax)
	if fr.heartbeat > 0 {
		return min(limit, fr.heartbeat), true
	}
	if fr.timeoutSet {
		return min(limit, fr.timeout), false
	}
	return limit, false
}

// round reads and sends what follows f.cur, batch after batch, while the
// reader may read it: the permission is checked after each read, so a
// row written after a revocation is read after the check can see it.
func (f *feed) round(ctx context.Context) error {
	for {
		cur, pending := f.cur, f.pending
		over, err := f.batch(ctx)
		if !f.allowed() {
			f.drop(cur, pending)
			return nil
		}
		f.sendRows()
		if err != nil || over {
			return err
		}
	}
}

// batch reads one page and takes its rows; over reports that nothing
// more is to be read now.
func (f *feed) batch(ctx context.Context) (over bool, err error) {
	n := f.readLimit()
	// Only a read the client's limit may end needs the count of what
	// follows; a batch of a longer read does not.
	noPending := f.fr.docIDs != nil || (!f.fr.descending && int64(n) < f.remaining)
	page, err := f.read(ctx, n, noPending)
	if err != nil {
		return true, err
	}
	if !page.exists {
		f.gone = true
		return true, nil
	}
	cut := f.take(page)
	return f.fr.descending || cut || page.pending == 0 || (n > 0 && len(page.rows) < n), nil
}

// readLimit is the limit of the next read: a batch, or what the limit
// leaves (at least one row, so that limit=0 counts what is pending).
func (f *feed) readLimit() int {
	if f.fr.docIDs != nil {
		// The limit counts rows that pass the filter.
		if f.fr.descending {
			return 0
		}
		return feedBatch
	}
	if f.fr.descending {
		if f.remaining >= defaultFeedLimit {
			return 0
		}
		return int(max(f.remaining, 1))
	}
	return int(min(max(f.remaining, 1), feedBatch))
}

// read reads storage; reads after a wake-up are shared with every
// listener woken by the same event that asks the same.
func (f *feed) read(ctx context.Context, n int, noPending bool) (*feedPage, error) {
	f.rounds++
	if f.rounds == 1 {
		return f.src.read(ctx, f.cur, n, f.fr.descending, noPending)
	}
	key := f.src.flightKey(f.cur, n, f.fr.descending) + "\x00" + strconv.FormatBool(noPending)
	if p := f.topic.page(key, f.gen); p != nil {
		return p, nil
	}
	v, err, _ := f.h.hub.reads.Do(key+"\x00"+strconv.FormatUint(f.gen, 10), func() (any, error) {
		p, err := f.src.read(context.WithoutCancel(ctx), f.cur, n, f.fr.descending, noPending)
		if err == nil {
			f.topic.keep(key, f.gen, p)
		}
		return p, err
	})
	if err != nil {
		return nil, err
	}
	return v.(*feedPage), nil
}

// take sends a page's rows through the filter and the limit, moves the
// cursor, and reports whether the limit cut the page.
func (f *feed) take(page *feedPage) bool {
	for i, row := range page.rows {
		if f.fr.docIDs != nil && !f.fr.docIDs[row.id] {
			if !f.fr.descending {
				f.cur = row.cur
			}
			continue
		}
		if f.remaining <= 0 {
			f.pending = len(page.rows) - i + max(page.pending, 0)
			return true
		}
		f.out = append(f.out, row)
		f.remaining--
		f.cur = row.cur
	}
	// A source that cannot count (-1) leaves pending at what is known.
	f.pending = max(page.pending, 0)
	if !f.fr.descending && (page.pending == 0 || f.fr.docIDs != nil) && page.end.pos >= f.cur.pos {
		f.cur = page.end
	}
	return false
}
