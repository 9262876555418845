package conditional

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/changegate/changegate/render"
)

func TestMethodOverride(t *testing.T) {
	tests := []struct {
		name     string
		m        MethodOverride
		method   string
		override string
		path     string
		want     string // method the upstream sees, or the refusal status
	}{
		{"post to put", MethodOverride{}, "POST", "PUT", "/doc", "PUT"},
		{"post to patch lower-case", MethodOverride{}, "POST", "patch", "/doc", "PATCH"},
		{"post to delete", MethodOverride{}, "POST", "DELETE", "/doc", "DELETE"},
		{"no header", MethodOverride{}, "POST", "", "/doc", "POST"},
		{"post to get refused", MethodOverride{}, "POST", "GET", "/doc", "400"},
		{"get to delete refused (CSRF)", MethodOverride{}, "GET", "DELETE", "/doc", "400"},
		{"put to patch refused", MethodOverride{}, "PUT", "PATCH", "/doc", "400"},
		{"custom allowlist", MethodOverride{Allow: []string{"PATCH"}}, "POST", "DELETE", "/doc", "400"},
		{"custom header", MethodOverride{Header: "X-Method"}, "POST", "PUT", "/doc", "POST"},
		{"kinto route", MethodOverride{Routes: kintoRoutes}, "GET", "DELETE", "/v1/buckets", "kinto 400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, nil)
			if tt.override != "" {
				r.Header.Set(DefaultOverrideHeader, tt.override)
			}
			w := httptest.NewRecorder()
			seen := ""
			err := tt.m.Serve(w, r, func(w http.ResponseWriter, r *http.Request) error {
				seen = r.Method
				if r.Header.Get(DefaultOverrideHeader) != "" && r.Method != tt.method {
					t.Error("the override header must not reach the upstream")
				}
				return nil
			})
			var refusal *render.Error
			switch {
			case tt.want == "400":
				if !errors.As(err, &refusal) || refusal.Status != 400 || seen != "" {
					t.Fatalf("got %v, upstream saw %q; want a 400 refusal", err, seen)
				}
			case tt.want == "kinto 400":
				want := `{"code":400,"errno":107,"error":"Invalid parameters","message":"X-HTTP-Method-Override is only honoured on POST, not GET",` +
					`"details":[{"location":"header","name":"X-HTTP-Method-Override","description":"X-HTTP-Method-Override is only honoured on POST, not GET"}]}`
				if err != nil || w.Code != 400 || w.Body.String() != want {
					t.Fatalf("got %d %s %v", w.Code, w.Body, err)
				}
			case err != nil || seen != tt.want:
				t.Fatalf("upstream saw %q (%v), want %s", seen, err, tt.want)
			}
		})
	}
}

// TestMethodOverrideTwice: two override headers are refused, whichever
// methods they name, before anything reaches the upstream.
func TestMethodOverrideTwice(t *testing.T) {
	m := MethodOverride{Routes: kintoRoutes}
	for _, pair := range [][2]string{{"PUT", "DELETE"}, {"PATCH", "PATCH"}} {
		r := httptest.NewRequest("POST", "/v1/buckets/b", nil)
		r.Header.Add(DefaultOverrideHeader, pair[0])
		r.Header.Add(DefaultOverrideHeader, pair[1])
		w := httptest.NewRecorder()
		err := m.Serve(w, r, func(http.ResponseWriter, *http.Request) error {
			t.Fatal("a request with two overrides reached the upstream")
			return nil
		})
		want := `{"code":400,"errno":107,"error":"Invalid parameters","message":"X-HTTP-Method-Override must be sent once",` +
			`"details":[{"location":"header","name":"X-HTTP-Method-Override","description":"X-HTTP-Method-Override must be sent once"}]}`
		if err != nil || w.Code != 400 || w.Body.String() != want {
			t.Fatalf("%v: got %d %s %v", pair, w.Code, w.Body, err)
		}
	}
}
