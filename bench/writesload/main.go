// Command writesload sends the same write (method, URL, body, optional
// Authorization) from C keep-alive connections for a fixed time and
// prints the requests per second and the count of each status.
// bench/refused_writes.sh runs it while strace counts the server's
// fsyncs.
package main

import (
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

func main() {
	method := flag.String("method", "PUT", "request method")
	target := flag.String("url", "", "request URL")
	body := flag.String("body", `{"data":{}}`, "request body")
	auth := flag.String("auth", "", "Authorization header, none when empty")
	conns := flag.Int("c", 8, "concurrent connections")
	duration := flag.Duration("d", 5*time.Second, "how long to send")
	flag.Parse()
	if *target == "" {
		fmt.Fprintln(os.Stderr, "writesload: -url is required")
		os.Exit(2)
	}
	counts, elapsed := run(*method, *target, *body, *auth, *conns, *duration)
	total := 0
	var parts []string
	for status, n := range counts {
		total += n
		parts = append(parts, fmt.Sprintf("%d:%d", status, n))
	}
	sort.Strings(parts)
	fmt.Printf("requests %d rps %.0f statuses %s\n", total, float64(total)/elapsed.Seconds(), strings.Join(parts, ","))
}

// run sends requests from conns goroutines until duration has passed.
func run(method, target, body, auth string, conns int, duration time.Duration) (map[int]int, time.Duration) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns}, Timeout: 10 * time.Second}
	var mu sync.Mutex
	counts := map[int]int{}
	start := time.Now()
	deadline := start.Add(duration)
	var wg sync.WaitGroup
	for range conns {
		wg.Go(func() {
			local := map[int]int{}
			for time.Now().Before(deadline) {
				local[send(client, method, target, body, auth)]++
			}
			mu.Lock()
			for k, v := range local {
				counts[k] += v
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	return counts, time.Since(start)
}

// send makes one request and returns its status, 0 on a transport error.
func send(client *http.Client, method, target, body, auth string) int {
	req, err := http.NewRequest(method, target, strings.NewReader(body))
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
