package feeds

import "net/http"

// Monitor is the monitor/changes collection that package changes keeps
// (one entry per monitored collection, at its latest records
// timestamp), as its feed reads it.
type Monitor interface {
	// Monitored reports whether a change of k moves the monitor.
	Monitored(k Key) bool
	// Reader returns what reads the monitor as the caller of r sees it,
	// and who names the callers that see the same ("" for the view every
	// anonymous caller shares). read may be called after r's context is
	// done (a parked longpoll).
	Reader(r *http.Request) (read func() MonitorView, who string)
}

// MonitorView is the monitor as one caller sees it at one registry
// version.
type MonitorView interface {
	// Version is the registry version rendered.
	Version() uint64
	// Timestamp is the newest entry's, 0 when there is none.
	Timestamp() int64
	// Len is the number of entries.
	Len() int
	// Entry returns entry i: the version at which it changed and its
	// records timestamp.
	Entry(i int) (changed uint64, timestamp int64)
	// EntryJSON is entry i rendered.
	EntryJSON(i int) []byte
}
