package changes

import (
	"context"
	"fmt"
	"net/http"

	"github.com/changegate/changegate/feeds"
	"github.com/changegate/changegate/kinto"
)

// The CouchDB-style feeds of the collections and of the monitor are
// package feeds'; the Handler passes them the requests it does not
// answer, and the State's subscription passes their hub every event.

// feedsConfig is the feeds' part of the settings.
func (c Config) feedsConfig() feeds.Config {
	return feeds.Config{Prefix: c.Prefix, FeedTimeoutMax: c.FeedTimeoutMax, FeedHeartbeat: c.FeedHeartbeat}
}

// feedMonitor is the handler's monitor view as the monitor feed reads it.
type feedMonitor struct{ h *Handler }

// Monitored reports whether the view lists k.
func (m *feedMonitor) Monitored(k kinto.Key) bool { return m.h.view.monitored(k) }

// Reader reads the monitor as the caller of r sees it.
func (m *feedMonitor) Reader(r *http.Request) (func() feeds.MonitorView, string) {
	h := m.h
	anonymous := h.cfg.MonitorListAll || h.access.Anonymous(r)
	// A parked feed reads after its request's context is done: its
	// permission checks must not fail for that.
	r = r.WithContext(context.WithoutCancel(r.Context()))
	read := func() feeds.MonitorView { return h.monitorAs(r, anonymous) }
	if anonymous {
		return read, ""
	}
	return read, fmt.Sprintf("%p", r)
}

// Version is the registry version rendered.
func (r *monitorRender) Version() uint64 { return r.version }

// Timestamp is the newest entry's records timestamp.
func (r *monitorRender) Timestamp() int64 { return r.timestamp }

// Len is the number of entries.
func (r *monitorRender) Len() int { return len(r.entries) }

// Entry returns the version at which entry i changed and its records
// timestamp.
func (r *monitorRender) Entry(i int) (changed uint64, timestamp int64) {
	return r.entries[i].Changed, r.entries[i].Timestamp
}

// EntryJSON is entry i rendered.
func (r *monitorRender) EntryJSON(i int) []byte { return r.entryJSON(i) }
