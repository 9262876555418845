package ratelimit

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkHeadersOnTheWire is what the rate limit fields cost a response
// through net/http's own server (its header clone, sort, validation and
// write), set by SetHeaders from one decision on every response: a 1 KB
// JSON answer to b.N keep-alive requests read from memory, with nothing
// else in the way (no sockets, no Caddy). "plain" sends no field,
// "x-ratelimit" the three X-RateLimit-* fields, "all" the five. The
// difference is a floor under what the throttle handler adds to a
// request, whatever its store does.
func BenchmarkHeadersOnTheWire(b *testing.B) {
	d, policies := request(b, NewMemory(10, SystemClock{}), http.MethodGet, "client",
		mustZone(b, "one", &Limit{Events: 1_000_000, Window: time.Second}, nil))
	body := []byte(`{"data":"` + strings.Repeat("x", 1024-11) + `"}`)
	for _, tc := range []struct {
		name         string
		fields, ietf bool
	}{{"plain", false, false}, {"x-ratelimit", true, false}, {"all", true, true}} {
		b.Run(tc.name, func(b *testing.B) {
			h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header()["Content-Type"] = []string{"application/json"}
				if tc.fields {
					SetHeaders(w.Header(), d, policies, tc.ietf)
				}
				_, _ = w.Write(body)
			})
			ln := newMemoryListener(strings.Repeat("GET / HTTP/1.1\r\nHost: bench\r\n\r\n", b.N))
			srv := &http.Server{Handler: h}
			b.ResetTimer()
			go func() { _ = srv.Serve(ln) }()
			<-ln.conn.done
			b.StopTimer()
			_ = srv.Close()
		})
	}
}

// memoryListener hands net/http one connection whose requests come from
// a string and whose responses are dropped.
type memoryListener struct {
	conn   *memoryConn
	accept chan net.Conn
	once   sync.Once
}

func newMemoryListener(requests string) *memoryListener {
	l := &memoryListener{
		conn:   &memoryConn{r: strings.NewReader(requests), done: make(chan struct{}), closed: make(chan struct{})},
		accept: make(chan net.Conn, 1),
	}
	l.accept <- l.conn
	return l
}

func (l *memoryListener) Accept() (net.Conn, error) {
	if c, ok := <-l.accept; ok {
		return c, nil
	}
	return nil, net.ErrClosed
}

func (l *memoryListener) Close() error {
	l.once.Do(func() { close(l.accept) })
	return nil
}

func (l *memoryListener) Addr() net.Addr { return &net.TCPAddr{} }

// memoryConn closes done when its requests are used up: net/http flushes
// each response before it reads the next request, so every response has
// been written by then. The read then waits until the server closes it.
type memoryConn struct {
	r      *strings.Reader
	done   chan struct{}
	closed chan struct{}
	once   sync.Once
}

func (c *memoryConn) Read(p []byte) (int, error) {
	if n, err := c.r.Read(p); err == nil {
		return n, nil
	}
	close(c.done)
	<-c.closed
	return 0, errors.New("closed")
}

func (c *memoryConn) Close() error {
	c.once.Do(func() { close(c.closed) })
	return nil
}

func (c *memoryConn) Write(p []byte) (int, error)      { return len(p), nil }
func (c *memoryConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *memoryConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *memoryConn) SetDeadline(time.Time) error      { return nil }
func (c *memoryConn) SetReadDeadline(time.Time) error  { return nil }
func (c *memoryConn) SetWriteDeadline(time.Time) error { return nil }
