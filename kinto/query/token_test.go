package query

import (
	"encoding/base64"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// kintoToken is the _token of transcript 21's Next-Page header.
const kintoToken = "eyJsYXN0X29iamVjdCI6eyJsYXN0X21vZGlmaWVkIjoxNzk1MzE4NTQyNjI2fSwib2Zmc2V0IjoyLCJub25jZSI6InBhZ2luYXRpb24tdG9rZW4tMmUwNTEwOTAtN2M2OC00YzliLTlkYTEtZjIyZjY0NWJhNDY1In0="

func TestKintoToken(t *testing.T) {
	q := mustParse(t, "_limit=1&_token="+url.QueryEscape(kintoToken), Options{})
	if q.Offset != 2 || q.Nonce != "pagination-token-2e051090-7c68-4c9b-9da1-f22f645ba465" {
		t.Errorf("offset %d, nonce %q", q.Offset, q.Nonce)
	}
	if got := TokenNonce(kintoToken); got != q.Nonce {
		t.Errorf("TokenNonce = %q", got)
	}
	objs := mustDecodeAll(t,
		`{"id":"r1","last_modified":1795318542566}`,
		`{"id":"r2","last_modified":1795318542595}`,
		`{"id":"r3","last_modified":1795318542626}`,
	)
	if got := ids(list(q, objs)); !slices.Equal(got, []string{"r2", "r1"}) {
		t.Errorf("page after the token: %q", got)
	}
}

var tokenFormat = regexp.MustCompile(`^\{"last_object":(\{.*\}),"offset":(\d+),"nonce":"pagination-token-[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"\}$`)

func TestNextPageTokenFormat(t *testing.T) {
	tests := []struct {
		query, last, want string
	}{
		// Transcript 21's token, but for its nonce.
		{"_limit=1", `{"id":"r3","last_modified":1795318542626,"title":"three"}`, `{"last_modified":1795318542626}`},
		{"_sort=title,-n", `{"id":"a","last_modified":3,"title":"été 🎉","n":1.50}`,
			`{"title":"\u00E9t\u00E9 \uD83C\uDF89","n":1.50,"last_modified":3}`},
		// Missing fields are left out; dotted fields are keyed by path.
		{"_sort=author.name,x", `{"id":"a","last_modified":3,"author":{"name":"n"}}`, `{"author.name":"n","last_modified":3}`},
		{"_sort=-last_modified", `{"id":"a","last_modified":3}`, `{"last_modified":3}`},
		{"_sort=meta", `{"id":"a","last_modified":3,"meta":{"b":[1,"\n"],"a":null}}`, `{"meta":{"a":null,"b":[1,"\n"]},"last_modified":3}`},
	}
	for _, tt := range tests {
		q := mustParse(t, tt.query, Options{})
		token := q.NextPageToken(mustDecode(t, tt.last), 2)
		raw, err := base64.StdEncoding.DecodeString(token)
		if err != nil {
			t.Fatalf("%s: token %q is not base64: %v", tt.query, token, err)
		}
		m := tokenFormat.FindStringSubmatch(string(raw))
		if m == nil {
			t.Fatalf("%s: token content %s", tt.query, raw)
		}
		if m[1] != tt.want || m[2] != "2" {
			t.Errorf("%s: last_object %s offset %s, want %s 2", tt.query, m[1], m[2], tt.want)
		}
		if n := TokenNonce(token); !strings.HasPrefix(n, "pagination-token-") {
			t.Errorf("%s: TokenNonce = %q", tt.query, n)
		}
	}
}

func TestBadTokens(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	valid := b64(`{"last_object":{},"offset":0,"nonce":"n"}`)
	for _, token := range []string{
		"abc", "!!!", "e30", b64(`{}`), b64(`[]`), b64(`"x"`), b64(`{"last_object":1,"offset":0,"nonce":"n"}`),
		b64(`{"last_object":{},"nonce":"n"}`), b64(`{"last_object":{},"offset":0}`), b64(`{"offset":0,"nonce":"n"}`),
		b64(`{"last_object":{},"offset":"x","nonce":"n"}`), b64("{\"last_object\":{},\"offset\":0,\"nonce\":\"\xff\"}"),
		b64(`{"last_object":{},"offset":0,"nonce":"n"} x`), valid[:len(valid)-2],
	} {
		_, err := Parse(url.Values{"_token": {token}}, Options{Now: testNow})
		qe, ok := err.(*Error)
		if !ok || qe.Description != "_token has invalid content" || !qe.Nameless || qe.Location != "querystring" {
			t.Errorf("_token=%q: err = %v", token, err)
		}
	}
	// Python's lenient base64: characters outside the alphabet are
	// skipped, and nothing is read after a complete padding.
	for _, token := range []string{valid, valid[:10] + "\n!" + valid[10:], valid + "AAAA", `"` + valid + `"`} {
		if _, err := Parse(url.Values{"_token": {token}}, Options{Now: testNow}); err != nil {
			t.Errorf("_token=%q: %v", token, err)
		}
	}
	q := mustParse(t, "_token="+url.QueryEscape(b64(`{"last_object":{},"offset":1,"nonce":5}`)), Options{})
	if q.Nonce != "" || q.Offset != 1 {
		t.Errorf("non-string nonce: nonce %q offset %d", q.Nonce, q.Offset)
	}
}

// pageObjects has duplicate, missing and mixed-type sort values; ids and
// timestamps are unique, as in a Kinto collection.
var pageObjects = []string{
	`{"id":"a","last_modified":10,"title":"x","n":1,"tags":["a"],"meta":{"k":1}}`,
	`{"id":"b","last_modified":11,"title":"x","n":1.0,"tags":["a"],"meta":{"k":2}}`,
	`{"id":"c","last_modified":12,"title":"y","n":2,"meta":{"k":1}}`,
	`{"id":"d","last_modified":13,"n":"2","tags":[],"meta":{"j":1}}`,
	`{"id":"e","last_modified":14,"title":"x","n":null,"tags":["b",1]}`,
	`{"id":"f","last_modified":15,"title":null,"n":true,"tags":["a"],"meta":{"k":1}}`,
	`{"id":"g","last_modified":16,"title":"y","tags":{"a":1},"meta":[1]}`,
	`{"id":"h","last_modified":17,"title":"x","n":1,"author":{"name":"z"}}`,
	`{"id":"i","last_modified":18,"title":"é","n":1,"author":{"name":"a"},"deleted":true}`,
	`{"id":"j","last_modified":19,"title":"x","n":[1],"author":{"name":"a"}}`,
	`{"id":"k","last_modified":20,"title":"x","n":1,"author":"a"}`,
}

func TestPaginationRoundTrip(t *testing.T) {
	objs := mustDecodeAll(t, pageObjects...)
	for _, base := range []string{
		"", "_sort=title", "_sort=-title", "_sort=n,title", "_sort=-n,-title", "_sort=author.name,-n", "_sort=tags",
		"_sort=meta,title", "_sort=last_modified", "_sort=-last_modified", "_sort=title,last_modified,n",
		"_sort=id", "has_title=true&_sort=title", "_since=12&_sort=n", "title=x&_sort=-n",
	} {
		want := ids(list(mustParse(t, base, Options{}), objs))
		for _, limit := range []int{1, 2, 3, 5, 20} {
			got := walkPages(t, base, limit, objs)
			if !slices.Equal(got, want) {
				t.Errorf("%q by %d: pages give %q, want %q", base, limit, got, want)
			}
		}
	}
}

// walkPages lists every page of a query, following tokens as a client
// follows Next-Page, and returns the ids in page order.
func walkPages(t *testing.T, base string, limit int, objs []map[string]any) []string {
	t.Helper()
	values := mustValues(t, base)
	values.Set("_limit", strconv.Itoa(limit))
	var got []string
	for range len(objs) + 2 {
		q, err := Parse(values, Options{Now: testNow})
		if err != nil {
			t.Fatalf("%q: %v", values.Encode(), err)
		}
		found := list(q, objs)
		if len(found) <= q.Limit {
			return append(got, ids(found)...)
		}
		page := found[:q.Limit]
		got = append(got, ids(page)...)
		values.Set("_token", q.NextPageToken(page[len(page)-1], q.Offset+len(found)))
	}
	t.Fatalf("%q: pagination does not end", base)
	return nil
}

func TestSinceHintWithToken(t *testing.T) {
	b64 := func(s string) string { return url.QueryEscape(base64.StdEncoding.EncodeToString([]byte(s))) }
	token := b64(`{"last_object":{"last_modified":100},"offset":0,"nonce":"n"}`)
	tests := []struct {
		query string
		want  int64
	}{
		{"_sort=last_modified&_token=" + token, 100},
		{"_sort=last_modified&_since=150&_token=" + token, 150},
		{"_token=" + token, 0},
		{"_sort=title,last_modified&_token=" + token, 0},
		{"_since=5&_token=" + token, 5},
		{"min_last_modified=100.5", 100},
		{"gt_last_modified=100.5", 100},
		{"gt_last_modified=true", 0},
	}
	for _, tt := range tests {
		if got := mustParse(t, tt.query, Options{}).SinceHint(); got != tt.want {
			t.Errorf("%s: SinceHint = %d, want %d", tt.query, got, tt.want)
		}
	}
}

func TestSinceExact(t *testing.T) {
	token := url.QueryEscape(base64.StdEncoding.EncodeToString([]byte(`{"last_object":{"last_modified":100},"offset":0,"nonce":"n"}`)))
	tests := []struct {
		query string
		want  bool
	}{
		{"", true},
		{"_since=5&_limit=10", true},
		{"_since=5&gt_last_modified=7&min_last_modified=3.5", true},
		{"_since=0", false},
		{"_since=5&_before=9", false},
		{"_since=5&last_modified=9", false},
		{"_since=5&title=a", false},
		{"gt_last_modified=true", false},
		{"_since=5&_token=" + token, false},
	}
	for _, tt := range tests {
		if got := mustParse(t, tt.query, Options{}).SinceExact(); got != tt.want {
			t.Errorf("%q: SinceExact = %v, want %v", tt.query, got, tt.want)
		}
	}
}
