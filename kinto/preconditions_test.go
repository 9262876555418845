package kinto

import (
	"net/http"
	"testing"
)

func TestPreconditions(t *testing.T) {
	parse := func(name, v string) Preconditions {
		t.Helper()
		p, err := ParsePreconditions(http.Header{name: {v}})
		if err != nil {
			t.Fatalf("%s: %s refused: %v", name, v, err)
		}
		return p
	}
	if p := parse("If-None-Match", `"42"`); !p.Set() || !p.NotModified(42) || p.NotModified(43) || p.Failed(true, 42) {
		t.Error(`If-None-Match: "42" misread`)
	}
	if p := parse("If-None-Match", "*"); !p.Failed(true, 1) || p.Failed(false, 0) {
		t.Error("If-None-Match: * misread")
	}
	if p := parse("If-Match", `"7"`); p.Failed(true, 7) || !p.Failed(true, 8) || !p.Failed(false, 0) {
		t.Error(`If-Match: "7" misread`)
	}
	if p, _ := ParsePreconditions(http.Header{}); p.Set() || p.Failed(true, 5) {
		t.Error("no header misread")
	}
	for _, bad := range []string{"42", `"-1"`, `"abc"`, `W/"1"`} {
		_, err := ParsePreconditions(http.Header{"If-Match": {bad}})
		e, ok := err.(*Error)
		if !ok || e.Code != http.StatusBadRequest || e.Message != "If-Match in header: The value should be integer between double quotes." {
			t.Errorf("If-Match: %s: err = %v", bad, err)
		}
	}
	if ModifiedMeanwhile().Errno != ErrnoModifiedMeanwhile {
		t.Error("412 errno")
	}
}
