package caddymodule

import "testing"

func TestIsValidateCommand(t *testing.T) {
	tests := []struct {
		args []string
		want bool
	}{
		{[]string{"changegate"}, false},
		{[]string{"changegate", "validate", "--config", "Caddyfile"}, true},
		{[]string{"changegate", "adapt", "--config", "Caddyfile", "--validate"}, true},
		{[]string{"changegate", "adapt", "--validate=true", "--config", "Caddyfile"}, true},
		{[]string{"changegate", "adapt", "--config", "Caddyfile"}, false},
		{[]string{"changegate", "run", "--config", "validate"}, false},
		{[]string{"changegate", "run", "--validate"}, false},
	}
	for _, tt := range tests {
		if got := isValidateCommand(tt.args); got != tt.want {
			t.Errorf("isValidateCommand(%q) = %v, want %v", tt.args, got, tt.want)
		}
	}
}
