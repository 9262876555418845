package render

import (
	"net/http/httptest"
	"testing"
)

func TestQueryParam(t *testing.T) {
	tests := []struct {
		raw, name string
		value     string
		present   bool
	}{
		{"", "pretty", "", false},
		{"pretty", "pretty", "", true},
		{"pretty=", "pretty", "", true},
		{"a=1&pretty=false", "pretty", "false", true},
		{"prettyish=1", "pretty", "", false},
		{"x=pretty", "pretty", "", false},
		{"callback=a.b&callback=c", "callback", "a.b", true},
		{"callback=%24cb", "callback", "$cb", true},
		{"%63allback=cb", "callback", "cb", true},
		{"_expected=%221%22", "_expected", `"1"`, true},
		{"q=a+b&_since=5", "_since", "5", true},
		{"callback=%zz", "callback", "%zz", true},
	}
	for _, tt := range tests {
		v, ok := QueryParam(tt.raw, tt.name)
		if v != tt.value || ok != tt.present {
			t.Errorf("QueryParam(%q, %q) = %q, %v; want %q, %v", tt.raw, tt.name, v, ok, tt.value, tt.present)
		}
	}
}

func TestWithoutParam(t *testing.T) {
	tests := []struct{ target, name, want string }{
		{"/r?pretty", "pretty", "/r"},
		{"/r?a=1&pretty=&b=2", "pretty", "/r?a=1&b=2"},
		{"/r?callback=cb&_=123&callback=x", "callback", "/r?_=123"},
		{"/r?%63allback=cb&q=a+b", "callback", "/r?q=a+b"},
		{"/r?prettyish=1", "pretty", "/r?prettyish=1"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("GET", tt.target, nil)
		got := withoutParam(r, tt.name)
		if got.URL.RequestURI() != tt.want || got.RequestURI != tt.want || r.URL.RequestURI() != tt.target {
			t.Errorf("withoutParam(%s, %s) = %s (RequestURI %s), original now %s", tt.target, tt.name, got.URL.RequestURI(), got.RequestURI, r.URL.RequestURI())
		}
	}
}
