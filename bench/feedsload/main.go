// Command feedsload parks N idle longpoll listeners on a _changes URL,
// measures the server's memory per listener, makes one write and times
// how long each listener takes to get its answer. bench/feeds.sh runs it
// against changegate and pouchdb-server.
//
// Each listener is one TCP connection speaking HTTP/1.1 by hand (a raw
// request, then reading to the end of the chunked body), so that the
// client's own cost stays small next to the server's on a 2-core box.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	target := flag.String("url", "", "longpoll _changes URL (since=now)")
	target2 := flag.String("url2", "", "a second longpoll URL (another instance): listeners alternate between url and url2")
	n := flag.Int("n", 1000, "listeners")
	pid := flag.Int("pid", 0, "server pid, for its resident memory")
	pid2 := flag.Int("pid2", 0, "pid of the server of url2, for its CPU")
	writeURL := flag.String("write-url", "", "URL of the write (PUT)")
	writeBody := flag.String("write-body", `{"data":{}}`, "body of the write")
	writeAuth := flag.String("write-auth", "", "Authorization of the write")
	dialers := flag.Int("dialers", 200, "connections opened at once")
	goroutinesURL := flag.String("goroutines-url", "", "the server's pprof goroutine URL (Caddy's admin /debug/pprof/goroutine?debug=1): its goroutine count is reported with every listener parked")
	closeEach := flag.Bool("close-each", false, "close each connection as soon as its answer is in, as a client on its own machine would, instead of all of them once every answer is timed")
	flag.Parse()
	if err := run(*target, *target2, *n, *pid, *pid2, *writeURL, *writeBody, *writeAuth, *dialers, *closeEach, *goroutinesURL); err != nil {
		fmt.Fprintln(os.Stderr, "feedsload:", err)
		os.Exit(1)
	}
}

func run(target, target2 string, n, pid, pid2 int, writeURL, writeBody, writeAuth string, dialers int, closeEach bool, goroutinesURL string) error {
	var targets []endpoint
	for _, t := range []string{target, target2} {
		if t == "" {
			continue
		}
		u, err := url.Parse(t)
		if err != nil {
			return err
		}
		targets = append(targets, endpoint{u.Host, "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host + "\r\nAccept: application/json\r\n\r\n"})
	}
	rss0 := rss(pid)
	conns := make([]*listener, n)
	start := time.Now()
	// Two halves: the second half's growth is the cost of one more
	// listener, without what parking any number of them costs once
	// (requests in flight while dialing, heap growth steps, workers).
	parkAll(conns, 0, n/2, targets, dialers)
	time.Sleep(time.Second)
	rssHalf := rss(pid)
	parkAll(conns, n/2, n, targets, dialers)
	parked, parked2 := 0, 0
	for i, l := range conns {
		if l.err == nil {
			parked++
			if i >= n/2 {
				parked2++
			}
		}
	}
	fmt.Printf("parked=%d of %d in %.2fs\n", parked, n, time.Since(start).Seconds())
	if parked == 0 {
		return fmt.Errorf("no listener parked: %v", conns[0].err)
	}
	time.Sleep(time.Second) // let the server settle
	if pid > 0 {
		rss1 := rss(pid)
		fmt.Printf("rss_before_kb=%d rss_parked_kb=%d per_listener_bytes=%d marginal_bytes=%d\n", rss0, rss1,
			(rss1-rss0)*1024/int64(parked), (rss1-rssHalf)*1024/int64(max(parked2, 1)))
	}
	if goroutinesURL != "" {
		g, err := goroutines(goroutinesURL)
		if err != nil {
			return err
		}
		fmt.Printf("server_goroutines=%d\n", g)
	}
	done := make(chan timed, n)
	// The readers start, and settle in their reads, before the clock
	// does: latencies run from the write, not from this client's own
	// start-up of N goroutines.
	var t0 atomic.Pointer[time.Time]
	for i, l := range conns {
		if l.err == nil {
			go func() {
				d := l.answer(&t0)
				if closeEach {
					l.conn.Close()
				}
				done <- timed{i % len(targets), d}
			}()
		}
	}
	time.Sleep(500 * time.Millisecond)
	cpu0, cpu20, self0 := cpuTicks(pid), cpuTicks(pid2), cpuTicks(os.Getpid())
	start0 := time.Now()
	t0.Store(&start0)
	if err := write(writeURL, writeBody, writeAuth); err != nil {
		return err
	}
	wrote := time.Since(start0)
	var lat []time.Duration
	perTarget := make([][]time.Duration, len(targets))
	failed := 0
	timeout := time.After(90 * time.Second)
	for range parked {
		select {
		case a := <-done:
			if a.d < 0 {
				failed++
			} else {
				lat = append(lat, a.d)
				perTarget[a.target] = append(perTarget[a.target], a.d)
			}
		case <-timeout:
			failed += parked - len(lat) - failed
		}
		if len(lat)+failed == parked {
			break
		}
	}
	if failed > 0 {
		for _, l := range conns {
			if l.err != nil {
				fmt.Printf("first failure: %v\n", l.err)
				break
			}
		}
	}
	// CLK_TCK is 100 on Linux: a tick is 10 ms of CPU.
	serverCPU, server2CPU, clientCPU := (cpuTicks(pid)-cpu0)*10, (cpuTicks(pid2)-cpu20)*10, (cpuTicks(os.Getpid())-self0)*10
	for _, l := range conns {
		if l.conn != nil {
			l.conn.Close()
		}
	}
	slices.Sort(lat)
	fmt.Printf("answered=%d failed=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f server_cpu_ms=%d client_cpu_ms=%d\n", len(lat), failed,
		ms(pct(lat, 50)), ms(pct(lat, 99)), ms(pct(lat, 100)), serverCPU, clientCPU)
	// Where the time goes: the write's own response, then the first
	// answer, then the spread of the others.
	fmt.Printf("write_ms=%.1f min_ms=%.1f\n", ms(wrote), ms(pct(lat, 0)))
	for i, l := range perTarget {
		if len(targets) > 1 {
			slices.Sort(l)
			fmt.Printf("url%d: answered=%d min_ms=%.1f p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n", i+1, len(l),
				ms(pct(l, 0)), ms(pct(l, 50)), ms(pct(l, 99)), ms(pct(l, 100)))
		}
	}
	if pid2 > 0 {
		fmt.Printf("server2_cpu_ms=%d\n", server2CPU)
	}
	return nil
}

// timed is one listener's answer time (-1: failed) and the index of its
// target.
type timed struct {
	target int
	d      time.Duration
}

// endpoint is where a listener parks: a host and its raw request.
type endpoint struct{ host, req string }

// parkAll parks a listener in each slot from lo to hi, dialers at a
// time, slot i on targets[i % len(targets)].
func parkAll(conns []*listener, lo, hi int, targets []endpoint, dialers int) {
	sem := make(chan struct{}, dialers)
	var wg sync.WaitGroup
	for i := lo; i < hi; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			e := targets[i%len(targets)]
			conns[i] = park(e.host, e.req)
		}()
	}
	wg.Wait()
}

// listener is one parked longpoll.
type listener struct {
	conn net.Conn
	r    *bufio.Reader
	err  error
}

// park connects, sends the request and reads the response headers.
func park(host, req string) *listener {
	l := &listener{}
	l.conn, l.err = net.DialTimeout("tcp", host, 30*time.Second)
	if l.err != nil {
		return l
	}
	if _, l.err = io.WriteString(l.conn, req); l.err != nil {
		return l
	}
	l.r = bufio.NewReaderSize(l.conn, 512)
	_ = l.conn.SetReadDeadline(time.Now().Add(60 * time.Second))
	for {
		line, err := l.r.ReadString('\n')
		if err != nil {
			l.err = err
			return l
		}
		if line == "\r\n" {
			return l
		}
	}
}

// answer reads to the end of the chunked body and returns the time since
// t0, or -1. It leaves the connection open: by default run closes them
// all once every answer is in, so that this tool's own closing (a
// syscall and, over loopback, the server's receipt of the FIN run inline
// in it) does not take the shared CPUs from the answers still being
// timed; -close-each measures with it.
func (l *listener) answer(t0 *atomic.Pointer[time.Time]) time.Duration {
	_ = l.conn.SetReadDeadline(time.Now().Add(90 * time.Second))
	var body bytes.Buffer
	for {
		line, err := l.r.ReadString('\n')
		if err != nil {
			l.err = fmt.Errorf("reading a chunk size after %q: %w", body.Bytes(), err)
			return -1
		}
		size, err := strconv.ParseInt(strings.TrimSpace(strings.SplitN(line, ";", 2)[0]), 16, 64)
		if err != nil {
			l.err = fmt.Errorf("chunk size %q: %w", line, err)
			return -1
		}
		if size == 0 {
			if !bytes.Contains(body.Bytes(), []byte(`"last_seq"`)) {
				l.err = fmt.Errorf("no last_seq in %q", body.Bytes())
				return -1
			}
			return time.Since(*t0.Load())
		}
		if _, err := io.CopyN(&body, l.r, size+2); err != nil {
			l.err = fmt.Errorf("reading a chunk: %w", err)
			return -1
		}
	}
}

func write(u, body, auth string) error {
	req, err := http.NewRequest(http.MethodPut, u, strings.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("write: %d %s", resp.StatusCode, b)
	}
	return nil
}

// goroutines reads the total from a pprof goroutine profile in its
// debug=1 text form ("goroutine profile: total N").
func goroutines(u string) (int, error) {
	resp, err := http.Get(u)
	if err != nil {
		return 0, fmt.Errorf("reading the goroutine count: %w", err)
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	total, ok := strings.CutPrefix(strings.TrimSpace(line), "goroutine profile: total ")
	if err != nil || !ok {
		return 0, fmt.Errorf("reading the goroutine count from %s: first line %q (%v)", u, line, err)
	}
	return strconv.Atoi(total)
}

// rss is a process's resident memory in KiB (0 without a pid).
func rss(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			return v
		}
	}
	return 0
}

// cpuTicks is a process's user + system CPU time in clock ticks.
func cpuTicks(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The command name may hold spaces: fields count from its ")".
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := (len(d)*p + 99) / 100
	return d[max(0, min(len(d), i)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
