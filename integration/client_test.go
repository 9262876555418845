package integration

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// result is a response read whole.
type result struct {
	status int
	header http.Header
	body   string
}

var client = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// do sends one request; headers are "Name: value" strings.
func do(t testing.TB, method, url, body string, headers ...string) result {
	t.Helper()
	r, err := tryDo(method, url, body, headers...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// tryDo is do for goroutines other than the test's: it returns errors.
func tryDo(method, url, body string, headers ...string) (result, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return result{}, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, h := range headers {
		if h == "" {
			continue // an anonymous caller's missing Authorization
		}
		name, value, _ := strings.Cut(h, ": ")
		req.Header.Set(name, value)
	}
	resp, err := client.Do(req)
	if err != nil {
		return result{}, fmt.Errorf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return result{}, fmt.Errorf("%s %s: reading body: %v", method, url, err)
	}
	return result{status: resp.StatusCode, header: resp.Header, body: string(b)}, nil
}

// expect checks status and exact body.
func (r result) expect(t testing.TB, status int, body string) result {
	t.Helper()
	if r.status != status || r.body != body {
		t.Fatalf("got %d %s\nwant %d %s", r.status, r.body, status, body)
	}
	return r
}

// expectStatus checks the status only.
func (r result) expectStatus(t testing.TB, status int) result {
	t.Helper()
	if r.status != status {
		t.Fatalf("got %d %s, want %d", r.status, r.body, status)
	}
	return r
}

// expectHeader checks one header's exact value ("" means absent).
func (r result) expectHeader(t testing.TB, name, value string) result {
	t.Helper()
	if got := r.header.Get(name); got != value {
		t.Fatalf("header %s = %q, want %q", name, got, value)
	}
	return r
}

// etag returns the numeric timestamp of the ETag.
func (r result) etag(t testing.TB) int64 {
	t.Helper()
	ts, err := strconv.ParseInt(strings.Trim(r.header.Get("ETag"), `"`), 10, 64)
	if err != nil {
		t.Fatalf("ETag %q is not a quoted timestamp", r.header.Get("ETag"))
	}
	return ts
}

// json decodes the body.
func (r result) json(t testing.TB) map[string]any {
	t.Helper()
	var v map[string]any
	d := json.NewDecoder(bytes.NewReader([]byte(r.body)))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return v
}
