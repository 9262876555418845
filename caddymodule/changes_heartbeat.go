package caddymodule

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/tidwall/gjson"

	"github.com/changegate/changegate/docstore"
	"github.com/changegate/changegate/internal/recorder"
)

// isHeartbeat tells the sidecar's GET /v1/__heartbeat__.
func (c *Changes) isHeartbeat(r *http.Request) bool {
	return (r.Method == http.MethodGet || r.Method == http.MethodHead) && r.URL.Path == c.cfg.Prefix+"/__heartbeat__"
}

// serveHeartbeat answers a sidecar's heartbeat: the upstream's own keys
// (asked through the next handler, reverse_proxy, as every proxied
// request goes), "upstream" true only when it answered 200, and the
// config's other checks (throttle's Redis). A dead upstream is
// {"upstream":false,...} with 503, as Kinto reports a failed backend.
func (c *Changes) serveHeartbeat(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	ctx, cancel := context.WithTimeout(r.Context(), docstore.HeartbeatTimeout)
	defer cancel()
	answered := make(chan map[string]bool, 1)
	checks := append([]docstore.HealthCheck{{Name: "upstream", Check: func(context.Context) error {
		keys, err := c.upstreamHeartbeat(r.WithContext(ctx), next)
		answered <- keys
		return err
	}}}, c.app.healthChecks()...)
	status := docstore.RunHealthChecks(ctx, checks)
	select {
	case keys := <-answered:
		// The upstream's own keys (storage, ...) say what failed there.
		for k, v := range keys {
			if _, ours := status[k]; !ours {
				status[k] = v
			}
		}
	default:
	}
	code := http.StatusOK
	if !docstore.Healthy(status) {
		code = http.StatusServiceUnavailable
	}
	body, err := json.Marshal(status)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	if r.Method == http.MethodHead {
		return nil
	}
	_, err = w.Write(body)
	return err
}

// errUpstreamUnhealthy is an upstream heartbeat that did not answer 200.
type errUpstreamUnhealthy int

func (e errUpstreamUnhealthy) Error() string {
	return "upstream heartbeat answered " + strconv.Itoa(int(e))
}

// upstreamHeartbeat asks the upstream's heartbeat through next and
// returns its boolean keys; an error when it did not answer 200.
func (c *Changes) upstreamHeartbeat(r *http.Request, next caddyhttp.Handler) (map[string]bool, error) {
	r = r.Clone(r.Context())
	r.Method = http.MethodGet
	r.Header.Del("Accept-Encoding")
	// The answer is kept whole, flushed or not; one beyond the limit is
	// not a heartbeat's and is dropped.
	rec := recorder.New(discardWriter{header: http.Header{}}, maxHeartbeatBody, func(_ int, canHold bool) recorder.Mode {
		if canHold {
			return recorder.Keep
		}
		return recorder.Drop
	})
	defer rec.Discard()
	if err := next.ServeHTTP(rec, r); err != nil {
		return nil, err
	}
	keys := map[string]bool{}
	gjson.ParseBytes(rec.Body()).ForEach(func(k, v gjson.Result) bool {
		if v.IsBool() {
			keys[k.String()] = v.Bool()
		}
		return true
	})
	if rec.Status() != http.StatusOK {
		return keys, errUpstreamUnhealthy(rec.Status())
	}
	return keys, nil
}

// maxHeartbeatBody bounds the upstream heartbeat answer read.
const maxHeartbeatBody = 64 << 10

// discardWriter is the client side of a response recorded whole: the
// recorder never writes to it.
type discardWriter struct{ header http.Header }

func (d discardWriter) Header() http.Header         { return d.header }
func (d discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d discardWriter) WriteHeader(int)             {}
