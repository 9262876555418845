package transcript

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Password is the Basic password sent for "as NAME" requests, as in
// Kinto's transcripts (user:pass).
const Password = "pass"

// Replayer sends transcript requests and checks the answers.
type Replayer struct {
	// Base is put before every request path: a server's URL, or any
	// scheme and host for a handler.
	Base string
	// Vars holds preset values ({var:name}) and collects bound ones.
	Vars map[string]string
	// Do answers one request.
	Do func(*http.Request) (*http.Response, error)
}

// HandlerDo answers requests with h in process, as a server would call it.
func HandlerDo(h http.Handler) func(*http.Request) (*http.Response, error) {
	return func(r *http.Request) (*http.Response, error) {
		r.RequestURI = r.URL.RequestURI()
		r.RemoteAddr = "192.0.2.1:41000"
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Result(), nil
	}
}

// Run replays the exchanges in order, each as a subtest; later ones depend
// on earlier ones, so the first failure stops the run.
func (p *Replayer) Run(t *testing.T, exchanges []Exchange) {
	t.Helper()
	if p.Vars == nil {
		p.Vars = map[string]string{}
	}
	for _, ex := range exchanges {
		if !t.Run(ex.Title, func(t *testing.T) {
			if err := p.Check(ex); err != nil {
				t.Fatalf("transcript line %d: %s %s: %v", ex.Line, ex.Method, ex.Path, err)
			}
		}) {
			return
		}
	}
}

// Check sends one exchange's request and compares the response.
func (p *Replayer) Check(ex Exchange) error {
	req, err := p.request(ex)
	if err != nil {
		return err
	}
	resp, err := p.Do(req)
	if err != nil {
		return fmt.Errorf("sending: %w", err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("reading body: %w", err)
	}
	if resp.StatusCode != ex.Status {
		return fmt.Errorf("status %d, want %d; body %s", resp.StatusCode, ex.Status, got)
	}
	for _, h := range ex.Expect {
		values, ok := resp.Header[http.CanonicalHeaderKey(h.Name)]
		if !ok {
			return fmt.Errorf("header %s missing, want %q", h.Name, h.Value)
		}
		if err := Match(h.Value, strings.Join(values, ", "), p.Vars); err != nil {
			return fmt.Errorf("header %s: %w", h.Name, err)
		}
	}
	for _, name := range ex.Absent {
		if v, ok := resp.Header[http.CanonicalHeaderKey(name)]; ok {
			return fmt.Errorf("header %s must be absent, got %q", name, v)
		}
	}
	if err := Match(ex.ExpectBody, string(got), p.Vars); err != nil {
		return fmt.Errorf("body: %w", err)
	}
	return nil
}

// request builds the exchange's request with bound values put in.
func (p *Replayer) request(ex Exchange) (*http.Request, error) {
	path, err := Expand(ex.Path, p.Vars)
	if err != nil {
		return nil, fmt.Errorf("request path: %w", err)
	}
	body, err := Expand(ex.Body, p.Vars)
	if err != nil {
		return nil, fmt.Errorf("request body: %w", err)
	}
	url := path
	if !strings.Contains(path, "://") {
		url = p.Base + path
	}
	req, err := http.NewRequest(ex.Method, url, strings.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("building request: %w", err)
	}
	for _, h := range ex.Header {
		v, err := Expand(h.Value, p.Vars)
		if err != nil {
			return nil, fmt.Errorf("request header %s: %w", h.Name, err)
		}
		req.Header.Add(h.Name, v)
	}
	if ex.User != "" {
		req.SetBasicAuth(ex.User, Password)
	}
	return req, nil
}
