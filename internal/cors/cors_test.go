package cors

import (
	"net/http"
	"testing"
)

func TestApply(t *testing.T) {
	cases := []struct {
		name    string
		origins []string
		origin  string
		acao    string
		creds   string
		vary    string
	}{
		{"default, cross-site", nil, "https://evil.example", "*", "", ""},
		{"default, null origin", nil, "null", "*", "", ""},
		{"default, no origin", nil, "", "", "", ""},
		{"star", []string{"*"}, "https://a.example", "*", "", ""},
		{"listed", []string{"https://a.example"}, "https://a.example", "https://a.example", "true", "Origin"},
		{"pattern", []string{"https://*.example"}, "https://b.example", "https://b.example", "true", "Origin"},
		{"not listed", []string{"https://a.example"}, "https://evil.example", "", "", "Origin"},
		{"null not listed", []string{"https://*.example"}, "null", "", "", "Origin"},
		{"listed plus star", []string{"https://a.example", "*"}, "https://evil.example", "*", "", "Origin"},
		{"listed, no origin", []string{"https://a.example"}, "", "", "", "Origin"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hd := http.Header{}
			New(c.origins).Apply(c.origin, hd)
			if got := hd.Get("Access-Control-Allow-Origin"); got != c.acao {
				t.Errorf("Allow-Origin %q, want %q", got, c.acao)
			}
			if got := hd.Get("Access-Control-Allow-Credentials"); got != c.creds {
				t.Errorf("Allow-Credentials %q, want %q", got, c.creds)
			}
			if got := hd.Get("Vary"); got != c.vary {
				t.Errorf("Vary %q, want %q", got, c.vary)
			}
		})
	}
}
