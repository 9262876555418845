package render

import (
	"net/http"
	"testing"
)

func TestTransformable(t *testing.T) {
	tests := []struct {
		status int
		header []string
		want   bool
	}{
		{200, []string{"Content-Type", "application/json"}, true},
		{404, []string{"Content-Type", "application/json; charset=utf-8"}, true},
		{200, []string{"Content-Type", "Application/JSON"}, true},
		{200, []string{"Content-Type", "application/problem+json"}, true},
		{200, []string{"Content-Type", "text/html"}, false},
		{200, []string{"Content-Type", "application/jsonx"}, false},
		{200, []string{}, false},
		{204, []string{"Content-Type", "application/json"}, false},
		{304, []string{"Content-Type", "application/json"}, false},
		{200, []string{"Content-Type", "application/json", "Content-Encoding", "gzip"}, false},
		{200, []string{"Content-Type", "application/json", "Content-Encoding", "identity"}, true},
		{200, []string{"Content-Type", "text/event-stream"}, false},
		{200, []string{"Content-Type", "application/json", "Incremental", "?1"}, false},
	}
	for _, tt := range tests {
		h := http.Header{}
		for i := 0; i < len(tt.header); i += 2 {
			h.Set(tt.header[i], tt.header[i+1])
		}
		if got := Transformable(tt.status, h); got != tt.want {
			t.Errorf("Transformable(%d, %v) = %v", tt.status, tt.header, got)
		}
	}
}
