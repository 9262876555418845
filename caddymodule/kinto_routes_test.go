package caddymodule

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/changegate/changegate/ratelimit"
)

// TestKintoPrefixJSONAlias: JSON configs written with the deprecated
// kinto_prefix (a string, throttle's former option) still work in every
// module, alone or next to kinto_prefixes.
func TestKintoPrefixJSONAlias(t *testing.T) {
	for _, c := range []struct {
		config string
		want   []string
	}{
		{`{"kinto_prefix":"/kinto"}`, []string{"/kinto"}},
		{`{"kinto_prefixes":["/v1"],"kinto_prefix":"/kinto"}`, []string{"/v1", "/kinto"}},
		{`{"kinto_prefixes":["/v1","/kinto"]}`, []string{"/v1", "/kinto"}},
		{`{}`, []string{"/v1"}},
	} {
		for name, m := range map[string]interface{ routesOf() []string }{
			"conditional":     &Conditional{},
			"jsonp":           &JSONP{},
			"method_override": &MethodOverride{},
			"throttle":        &Throttle{},
		} {
			if err := json.Unmarshal([]byte(c.config), m); err != nil {
				t.Fatalf("%s %s: %v", name, c.config, err)
			}
			if got := m.routesOf(); !reflect.DeepEqual(got, c.want) {
				t.Errorf("%s %s: prefixes %v, want %v", name, c.config, got, c.want)
			}
		}
	}
}

func (c *Conditional) routesOf() []string    { return c.routes().Prefixes }
func (j *JSONP) routesOf() []string          { return j.routes().Prefixes }
func (m *MethodOverride) routesOf() []string { return m.routes().Prefixes }
func (t *Throttle) routesOf() []string       { return t.routes().Prefixes }

// TestThrottleKintoPrefixes: throttle's refusals are in Kinto's format
// under any configured prefix, old spelling included, and in JSON
// elsewhere or when no path is a Kinto route.
func TestThrottleKintoPrefixes(t *testing.T) {
	for _, c := range []struct {
		config string
		kinto  map[string]bool
	}{
		{`{"kinto_prefix":"/kinto/"}`, map[string]bool{"/kinto": true, "/kinto/x": true, "/v1/x": false, "/kintox": false}},
		{`{"kinto_prefixes":["/v1","/kinto"]}`, map[string]bool{"/kinto/x": true, "/v1": true, "/v1/x": true, "/v2": false}},
		{`{}`, map[string]bool{"/v1/buckets": true, "/kinto": false}},
		{`{"no_kinto":true}`, map[string]bool{"/v1/buckets": false}},
	} {
		ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
		th := &Throttle{}
		if err := json.Unmarshal([]byte(c.config), th); err != nil {
			t.Fatal(err)
		}
		th.Zones = map[string]*ThrottleZone{"z": {Events: 1, Window: caddy.Duration(1e9)}}
		if err := th.Provision(ctx); err != nil {
			t.Fatalf("%s: %v", c.config, err)
		}
		for path, kinto := range c.kinto {
			want := ratelimit.FormatJSON
			if kinto {
				want = ratelimit.FormatKinto
			}
			if got := th.mw.FormatFor(httptest.NewRequest("GET", path, nil)); got != want {
				t.Errorf("%s: %s answers in format %v, want %v", c.config, path, got, want)
			}
		}
		_ = th.Cleanup()
		cancel()
	}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	bad := &Throttle{KintoRoutes: KintoRoutes{KintoPrefixes: []string{"/v1", "v2"}},
		Zones: map[string]*ThrottleZone{"z": {Events: 1, Window: caddy.Duration(1e9)}}}
	if err := bad.Provision(ctx); err == nil || err.Error() != `throttle: kinto_prefix "v2" must start with /` {
		t.Fatalf("bad prefix: %v", err)
	}
}
