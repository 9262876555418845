package kinto

import "testing"

func TestIsCacheBuster(t *testing.T) {
	for v, want := range map[string]bool{
		"0": true, "9999": true, "99999996565": true, "99990": true,
		"": false, "00": false, "999": false, "9998": false, "42": false, `"0"`: false, "1713532462683": false,
	} {
		if got := IsCacheBuster(v); got != want {
			t.Errorf("IsCacheBuster(%q) = %v, want %v", v, got, want)
		}
	}
}
