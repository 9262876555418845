package feeds

import (
	"net/url"
	"regexp"
	"testing"
)

// TestFeedNormalETag: a normal feed has a strong ETag that stays while
// the collection and the request stay the same, If-None-Match answers
// 304 with it and no body, and a write, another parameter or another
// collection changes it. Live feeds and POST have none.
func TestFeedNormalETag(t *testing.T) {
	f := newFeedFixture(t)
	f.put("a", `{"n":1}`)
	u := feedColl + "/_changes"

	w := f.do("GET", u, "")
	tag := w.Header().Get("ETag")
	if !regexp.MustCompile(`^"[0-9a-f]{16}"$`).MatchString(tag) {
		t.Fatalf("ETag %q", tag)
	}
	if again := f.do("GET", u, "").Header().Get("ETag"); again != tag {
		t.Errorf("same feed, same state: ETag %q then %q", tag, again)
	}

	for _, inm := range []string{tag, "W/" + tag, `"other", ` + tag, "*"} {
		w := f.do("GET", u, "", "If-None-Match: "+inm)
		if w.Code != 304 || w.Body.Len() != 0 || w.Header().Get("ETag") != tag || w.Header().Get("Cache-Control") != "must-revalidate" {
			t.Errorf("If-None-Match %s: %d %q ETag %q Cache-Control %q", inm, w.Code, w.Body.String(), w.Header().Get("ETag"), w.Header().Get("Cache-Control"))
		}
	}
	if w := f.do("HEAD", u, "", "If-None-Match: "+tag); w.Code != 304 {
		t.Errorf("HEAD with a matching tag: %d", w.Code)
	}
	if w := f.do("GET", u, "", `If-None-Match: "other"`); w.Code != 200 || w.Header().Get("ETag") != tag {
		t.Errorf("other tag: %d, ETag %q", w.Code, w.Header().Get("ETag"))
	}

	seen := map[string]string{tag: u}
	for _, q := range []string{"?limit=1", "?since=now", "?include_docs=true", "?descending=true", "?style=all_docs",
		"?seq_interval=2", "?filter=_doc_ids&doc_ids=" + url.QueryEscape(`["a"]`)} {
		other := f.do("GET", u+q, "").Header().Get("ETag")
		if prev, dup := seen[other]; dup || other == "" {
			t.Errorf("%s: ETag %q, as %s", q, other, prev)
		}
		seen[other] = q
	}

	f.put("b", `{"n":2}`)
	w = f.do("GET", u, "", "If-None-Match: "+tag)
	if w.Code != 200 || w.Header().Get("ETag") == tag {
		t.Errorf("after a write: %d, ETag %q (was %q)", w.Code, w.Header().Get("ETag"), tag)
	}

	for _, c := range []struct{ method, target string }{
		{"GET", u + "?feed=longpoll&timeout=0"},
		{"GET", u + "?feed=continuous&timeout=0"},
		{"POST", u},
	} {
		if w := f.do(c.method, c.target, "", "If-None-Match: *"); w.Code != 200 || w.Header().Get("ETag") != "" {
			t.Errorf("%s %s: %d, ETag %q", c.method, c.target, w.Code, w.Header().Get("ETag"))
		}
	}
	if w := f.do("GET", "/v1/buckets/monitor/collections/changes/_changes", ""); w.Header().Get("ETag") == "" {
		t.Errorf("monitor feed without ETag: %d", w.Code)
	}
}
