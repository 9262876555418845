package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/changegate/changegate/kinto"
	"github.com/tidwall/gjson"
)

// client sends requests to the upstream API root.
type client struct {
	base    *url.URL
	http    *http.Client
	maxBody int64
	// retired: the upstream's last answer was Kinto's end-of-service 410
	// (errno 202), which it gives every request once its eos date passed.
	retired atomic.Bool
}

// response is an upstream answer read whole (bounded).
type response struct {
	status int
	header http.Header
	body   []byte
}

// etag is the response's ETag as a timestamp (0 when absent or not a
// quoted integer); Caddy's encode may have added "-gzip" on the way.
func (r *response) etag() int64 {
	return parseETag(r.header.Get("ETag"))
}

// parseETag reads "123", "123-gzip" or W/"123" as 123.
func parseETag(v string) int64 {
	v = strings.TrimPrefix(v, "W/")
	v = strings.Trim(v, `"`)
	if i := strings.IndexByte(v, '-'); i > 0 {
		v = v[:i]
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// get sends GET path?query (path below the API root) with the headers
// given, and reads the answer. Transport failures and 5xx answers are
// *unavailableError.
func (c *client) get(ctx context.Context, path string, query url.Values, hdr http.Header) (*response, error) {
	u := *c.base
	u.Path += path
	u.RawPath = ""
	u.RawQuery = query.Encode()
	return c.getURL(ctx, &u, hdr)
}

// head sends HEAD path?query: the headers of a GET without its body.
func (c *client) head(ctx context.Context, path string, query url.Values, hdr http.Header) (*response, error) {
	u := *c.base
	u.Path += path
	u.RawPath = ""
	u.RawQuery = query.Encode()
	return c.send(ctx, http.MethodHead, &u, hdr)
}

// getURL sends GET u.
func (c *client) getURL(ctx context.Context, u *url.URL, hdr http.Header) (*response, error) {
	return c.send(ctx, http.MethodGet, u, hdr)
}

// send sends a GET or HEAD and reads the answer.
func (c *client) send(ctx context.Context, method string, u *url.URL, hdr http.Header) (*response, error) {
	req, err := http.NewRequestWithContext(ctx, method, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("building %s %s: %w", method, u.Path, err)
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &unavailableError{err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	if err != nil {
		return nil, &unavailableError{err: fmt.Errorf("reading %s %s: %w", method, u.Path, err)}
	}
	if int64(len(body)) > c.maxBody {
		return nil, fmt.Errorf("%s %s: answer larger than %d bytes", method, u.Path, c.maxBody)
	}
	if resp.StatusCode >= 500 {
		return nil, &unavailableError{err: fmt.Errorf("%s %s: %s", method, u.Path, resp.Status)}
	}
	c.retired.Store(resp.StatusCode == http.StatusGone && gjson.GetBytes(body, "errno").Int() == kinto.ErrnoServiceDeprecated)
	return &response{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// nextPage resolves a Next-Page URL against the API root: the upstream
// names itself by the host it believes it has (http_host), which may not
// be the address we reach it at, so only its path and query are kept.
func (c *client) nextPage(next string) (*url.URL, error) {
	n, err := url.Parse(next)
	if err != nil {
		return nil, fmt.Errorf("upstream Next-Page %q: %w", next, err)
	}
	u := *c.base
	prefix := c.base.Path
	if !strings.HasPrefix(n.Path, prefix+"/") {
		return nil, fmt.Errorf("upstream Next-Page %q is not below %s", next, prefix)
	}
	u.Path, u.RawPath, u.RawQuery = n.Path, n.RawPath, n.RawQuery
	return &u, nil
}

// unavailableError is an upstream that could not be reached or answered
// 5xx.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string { return "upstream unavailable: " + e.err.Error() }
func (e *unavailableError) Unwrap() error { return e.err }

// isUnavailable reports an *unavailableError.
func isUnavailable(err error) bool {
	var ue *unavailableError
	return errors.As(err, &ue)
}
