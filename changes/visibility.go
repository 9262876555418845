package changes

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/changegate/changegate/kinto"
)

// The monitor lists, by default, only the collections its caller may
// read: the reference plugin lists every monitored collection to anyone,
// which tells the name and the activity of a private collection to the
// whole world. Anonymous callers (Firefox polling) share one filtered
// view, rebuilt when the registry moves or a bucket or collection is
// written (its permissions may have changed); other callers get the
// shared view filtered by a permission check per entry.

// visibilityCache is the anonymous view of a monitor view.
type visibilityCache struct {
	// cur is read without a lock by every anonymous request.
	cur atomic.Pointer[anonymousRender]

	mu sync.Mutex // rebuilds
	// readable remembers, for permission generation readableGen, which
	// collections anonymous callers may read; readableUntil bounds it
	// when the store's permission changes are not all seen as events
	// (sidecar).
	readable      map[kinto.Key]bool
	readableGen   uint64
	readableUntil time.Time
}

// anonymousRender is the anonymous view of base at permission
// generation gen.
type anonymousRender struct {
	render  *monitorRender
	base    *monitorRender
	gen     uint64
	expires time.Time
}

// fresh reports whether a is the anonymous view of base at gen.
func (a *anonymousRender) fresh(base *monitorRender, gen uint64, now time.Time, ttl time.Duration) bool {
	return a != nil && a.base == base && a.gen == gen && (ttl <= 0 || now.Before(a.expires))
}

// monitorFor returns the monitor as the caller of r may see it; r nil
// means an anonymous caller.
func (h *Handler) monitorFor(r *http.Request) *monitorRender {
	return h.monitorAs(r, h.cfg.MonitorListAll || r == nil || h.access.Anonymous(r))
}

// monitorAs returns the monitor as r's caller sees it, the view shared
// by anonymous callers when anonymous is set.
func (h *Handler) monitorAs(r *http.Request, anonymous bool) *monitorRender {
	base := h.view.current(h.state.registry)
	if h.cfg.MonitorListAll {
		return base
	}
	if anonymous {
		return h.anonymousMonitor(base)
	}
	who := ""
	if ck, ok := h.access.(callerKeyer); ok {
		who, _ = ck.CallerKey(r)
	}
	gen, now, ttl := h.state.permGen.Load(), h.now(), h.cfg.VisibilityTTL
	if who != "" {
		if u, ok := h.view.users.Get(who); ok && u.fresh(base, gen, now, ttl) {
			return u.render
		}
	}
	own := h.filterFor(r, base)
	h.view.remember(own.timestamp, own.version)
	if who != "" {
		h.view.users.Add(who, &anonymousRender{render: own, base: base, gen: gen, expires: now.Add(ttl)})
	}
	return own
}

// privateFor marks a monitor answer private when it is an identified
// caller's own view: a shared cache must not give it to others (RFC
// 9111 §5.2.2.7). A cache keeps no answer to a request with
// Authorization anyway (§3.5), but a caller identified by a cookie or a
// gateway header has none.
func (h *Handler) privateFor(r *http.Request, hd http.Header) {
	if h.cfg.MonitorListAll || h.access.Anonymous(r) {
		return
	}
	if cc := hd.Get("Cache-Control"); cc != "" {
		hd.Set("Cache-Control", "private, "+cc)
		return
	}
	hd.Set("Cache-Control", "private")
}

// The optional abilities of an Access that make an identified caller's
// monitor cheap: naming what its permissions depend on, so that its
// requests share one filtered view, and checking many collections at
// once.
type (
	callerKeyer interface {
		CallerKey(r *http.Request) (string, error)
	}
	bulkReader interface {
		CanReadAll(r *http.Request, keys []kinto.Key) ([]bool, error)
	}
)

// userViewsBytes bounds the filtered views kept for identified callers,
// per monitor view.
const userViewsBytes = 8 << 20

// renderSize approximates the memory of a filtered view.
func renderSize(a *anonymousRender) int64 {
	return int64(len(a.render.json) + 64*len(a.render.entries) + 256)
}

// filterFor is base as r's caller may read it, checked in one read when
// the store can.
func (h *Handler) filterFor(r *http.Request, base *monitorRender) *monitorRender {
	br, ok := h.access.(bulkReader)
	if !ok {
		return base.filter(func(k kinto.Key) bool { return h.access.CanRead(r, k) == nil })
	}
	keys := make([]kinto.Key, len(base.entries))
	for i, e := range base.entries {
		keys[i] = e.Key
	}
	readable, err := br.CanReadAll(r, keys)
	if err != nil {
		h.logger.Warn("checking monitor permissions", "error", err)
		return base.filter(func(kinto.Key) bool { return false })
	}
	i := 0
	return base.filter(func(kinto.Key) bool {
		i++
		return readable[i-1]
	})
}

// anonymousMonitor returns base as anonymous callers may see it, built
// once per registry version and permission generation.
func (h *Handler) anonymousMonitor(base *monitorRender) *monitorRender {
	c := &h.view.anonymous
	gen := h.state.permGen.Load()
	now, ttl := h.now(), h.cfg.VisibilityTTL
	if a := c.cur.Load(); a.fresh(base, gen, now, ttl) {
		return a.render
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if a := c.cur.Load(); a.fresh(base, gen, now, ttl) {
		return a.render
	}
	previous := c.readable
	if c.readable == nil || c.readableGen != gen || (ttl > 0 && !now.Before(c.readableUntil)) {
		c.readable, c.readableGen, c.readableUntil = map[kinto.Key]bool{}, gen, now.Add(ttl)
	}
	anon, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "/", nil)
	render := base.filter(func(k kinto.Key) bool {
		if ok, known := c.readable[k]; known {
			return ok
		}
		err := h.access.CanRead(anon, k)
		if err != nil && !denied(err) {
			// The store could not answer (sidecar upstream away): keep
			// the last answer, hide what was never shown.
			return previous[k]
		}
		c.readable[k] = err == nil
		return err == nil
	})
	c.cur.Store(&anonymousRender{render: render, base: base, gen: gen, expires: c.readableUntil})
	h.view.remember(render.timestamp, render.version)
	return render
}

// denied reports a permission answer (401, 403, or 404 for a collection
// that is gone) rather than a failure.
func denied(err error) bool {
	var ke *kinto.Error
	if !errors.As(err, &ke) {
		return false
	}
	return ke.Code == http.StatusUnauthorized || ke.Code == http.StatusForbidden || ke.Code == http.StatusNotFound
}

// filter returns the render with only the entries whose collection keep
// accepts, sharing the rendered JSON of each entry; the version stays,
// so positions in the monitor feed keep their meaning.
func (r *monitorRender) filter(keep func(kinto.Key) bool) *monitorRender {
	out := &monitorRender{version: r.version}
	for i, e := range r.entries {
		if !keep(e.Key) {
			continue
		}
		if len(out.entries) > 0 {
			out.json = append(out.json, ',')
		}
		out.json = append(out.json, r.entryJSON(i)...)
		out.entries = append(out.entries, e)
		out.ends = append(out.ends, len(out.json))
	}
	if len(out.entries) > 0 {
		out.timestamp = out.entries[0].Timestamp
	}
	out.suffixChanged = make([]uint64, len(out.entries)+1)
	for i := len(out.entries) - 1; i >= 0; i-- {
		out.suffixChanged[i] = max(out.suffixChanged[i+1], out.entries[i].Changed)
	}
	return out
}

// permissionEvent reports an event that may change who reads a
// collection: any bucket write, a collection deleted, or a collection
// whose metadata (where its permissions live) got a newer timestamp.
// Record events and the repeats of a known collection timestamp (the
// sidecar emits one on every permission check) are not.
func (g *Registry) permissionEvent(ev kinto.Event) bool {
	switch ev.Kind {
	case kinto.KindBucket:
		return true
	case kinto.KindCollection:
		if ev.Deleted {
			return true
		}
		g.mu.RLock()
		defer g.mu.RUnlock()
		e := g.entries[kinto.Key{Bucket: ev.Bucket, Collection: ev.Collection}]
		return e == nil || ev.Timestamp > e.meta
	}
	return false
}
