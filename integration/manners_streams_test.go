package integration

import (
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// mannersStreams serves the foreign API's slow streams through each
// manners directive alone, and through all of them with encode.
const mannersStreams = mannersGlobal + `:{port} {
	handle_path /conditional/* {
		conditional
		reverse_proxy {upstream}
	}
	handle_path /cache_control/* {
		cache_control
		reverse_proxy {upstream}
	}
	handle_path /pretty/* {
		pretty
		reverse_proxy {upstream}
	}
	handle_path /jsonp/* {
		jsonp
		reverse_proxy {upstream}
	}
	handle_path /method_override/* {
		method_override
		reverse_proxy {upstream}
	}
	handle_path /all/* {
		encode gzip zstd
		method_override
		conditional
		cache_control
		pretty
		jsonp
		reverse_proxy {upstream}
	}
}
`

// streamClient leaves bodies compressed, so that the test sees the bytes
// as they arrive.
var streamClient = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableCompression: true}}

// TestMannersStreamsAreUntouched: server-sent events, continuous JSON
// lines and long polls go through every middleware (asked to indent,
// wrap, cache and validate them) without being held, changed or
// delayed: the headers and the first part arrive while the upstream is
// still pausing before the rest, and the bytes are the upstream's.
func TestMannersStreamsAreUntouched(t *testing.T) {
	api := startForeignAPI(t)
	base := startSidecar(t, mannersStreams, api).URL()
	streams := []struct {
		path, first, rest string
	}{
		{"/sse", "data: first\n\n", "data: second\n\n"},
		{"/continuous", `{"seq":1,"id":"a"}` + "\n", `{"seq":2,"id":"b"}` + "\n"},
		{"/continuous-big", `{"seq":1,"doc":` + foreignDoc + "}\n", `{"seq":2}` + "\n"},
		{"/longpoll", "\n", `{"results":[{"seq":1}],"last_seq":1}`},
		{"/longpoll-bare", "", `{"results":[{"seq":1}],"last_seq":1}`},
	}
	var wg sync.WaitGroup
	for _, via := range []string{"conditional", "cache_control", "pretty", "jsonp", "method_override", "all"} {
		for _, s := range streams {
			if via == "all" && s.path == "/longpoll-bare" {
				// encode holds the headers back until the first byte of
				// body, to choose whether to compress (Caddy #4314):
				// nothing ours can change, hence CouchDB's newline.
				continue
			}
			for _, enc := range []string{"identity", "gzip"} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					url := base + "/" + via + s.path + "?pretty&callback=cb&_expected=5"
					if err := checkStream(url, enc, s.first, s.rest); err != nil {
						t.Errorf("%s %s (%s): %v", via, s.path, enc, err)
					}
				}()
			}
		}
	}
	wg.Wait()
}

// checkStream reads one stream: the headers, and the first part when
// there is one, must come well before the upstream's pause ends; the
// whole body, decoded, must be first+rest.
func checkStream(url, encoding, first, rest string) error {
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept-Encoding", encoding)
	start := time.Now()
	resp, err := streamClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if d := time.Since(start); d > streamPause/2 {
		return fmt.Errorf("headers after %v", d)
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	var body io.Reader = resp.Body
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return fmt.Errorf("gzip header after %v: %v", time.Since(start), err)
		}
		body = zr
	}
	if first != "" {
		got := make([]byte, len(first))
		if _, err := io.ReadFull(body, got); err != nil {
			return err
		}
		if d := time.Since(start); d > streamPause/2 || string(got) != first {
			return fmt.Errorf("first part %q after %v", got, d)
		}
	}
	all, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	if string(all) != rest || time.Since(start) < streamPause {
		return fmt.Errorf("rest %q after %v", all, time.Since(start))
	}
	if etag, cc := resp.Header.Get("ETag"), resp.Header.Get("Cache-Control"); etag != "" || (cc != "" && resp.Header.Get("Content-Type") == "text/event-stream") {
		return fmt.Errorf("a stream got ETag %q, Cache-Control %q", etag, cc)
	}
	return nil
}
