package changes

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/changegate/changegate/docstore"
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
	mu sync.Mutex
	// render is the anonymous view of base, built at permission
	// generation gen; expires bounds it when the store's permission
	// changes are not all seen as events (sidecar).
	render  *monitorRender
	base    *monitorRender
	gen     uint64
	expires time.Time
	// readable remembers, for generation gen, which collections
	// anonymous callers may read.
	readable map[Key]bool
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
	own := base.filter(func(k Key) bool { return h.access.CanRead(r, k) == nil })
	h.view.remember(own.timestamp, own.version)
	return own
}

// anonymousMonitor returns base as anonymous callers may see it, built
// once per registry version and permission generation.
func (h *Handler) anonymousMonitor(base *monitorRender) *monitorRender {
	c := &h.view.anonymous
	gen := h.state.permGen.Load()
	now := h.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	expired := h.cfg.VisibilityTTL > 0 && !now.Before(c.expires)
	if c.render != nil && c.base == base && c.gen == gen && !expired {
		return c.render
	}
	previous := c.readable
	if c.readable == nil || c.gen != gen || expired {
		c.readable = map[Key]bool{}
		c.expires = now.Add(h.cfg.VisibilityTTL)
	}
	anon, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "/", nil)
	c.render = base.filter(func(k Key) bool {
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
	c.base, c.gen = base, gen
	h.view.remember(c.render.timestamp, c.render.version)
	return c.render
}

// denied reports a permission answer (401, 403, or 404 for a collection
// that is gone) rather than a failure.
func denied(err error) bool {
	var ke *docstore.Error
	if !errors.As(err, &ke) {
		return false
	}
	return ke.Code == http.StatusUnauthorized || ke.Code == http.StatusForbidden || ke.Code == http.StatusNotFound
}

// filter returns the render with only the entries whose collection keep
// accepts, sharing the rendered JSON of each entry; the version stays,
// so positions in the monitor feed keep their meaning.
func (r *monitorRender) filter(keep func(Key) bool) *monitorRender {
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
func (g *Registry) permissionEvent(ev Event) bool {
	switch ev.Kind {
	case KindBucket:
		return true
	case KindCollection:
		if ev.Deleted {
			return true
		}
		g.mu.RLock()
		defer g.mu.RUnlock()
		e := g.entries[Key{Bucket: ev.Bucket, Collection: ev.Collection}]
		return e == nil || ev.Timestamp > e.meta
	}
	return false
}
