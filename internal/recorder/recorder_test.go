package recorder

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestRecorderModes(t *testing.T) {
	for _, tc := range []struct {
		mode     Mode
		wantCode int
		wantBody string
		held     bool
	}{
		{Pass, 201, "abc", false},
		{Hold, 200, "", true}, // nothing reaches the client until the owner writes
		{Drop, 200, "", false},
	} {
		w := httptest.NewRecorder()
		rec := New(w, 10, func(int, bool) Mode { return tc.mode })
		rec.WriteHeader(201)
		_, _ = rec.Write([]byte("abc"))
		if w.Code != tc.wantCode || w.Body.String() != tc.wantBody || rec.Held() != tc.held {
			t.Errorf("mode %d: client got %d %q, held %v", tc.mode, w.Code, w.Body, rec.Held())
		}
		if tc.mode == Hold {
			if string(rec.Body()) != "abc" || rec.Status() != 201 {
				t.Fatalf("held %d %q", rec.Status(), rec.Body())
			}
			_ = rec.Finish(202, []byte("xyz"))
			if w.Code != 202 || w.Body.String() != "xyz" {
				t.Fatalf("after Finish: %d %q", w.Code, w.Body)
			}
		}
	}
}

func TestRecorderReleasesOnFlushAndLimit(t *testing.T) {
	asked := []bool{}
	decide := func(_ int, canHold bool) Mode {
		asked = append(asked, canHold)
		if canHold {
			return Hold
		}
		return Pass
	}
	w := httptest.NewRecorder()
	rec := New(w, 100, decide)
	_, _ = rec.Write([]byte("line 1\n"))
	if w.Body.Len() != 0 {
		t.Fatal("held bytes leaked before the flush")
	}
	if err := http.NewResponseController(rec).Flush(); err != nil {
		t.Fatal(err)
	}
	_, _ = rec.Write([]byte("line 2\n"))
	if w.Body.String() != "line 1\nline 2\n" || !w.Flushed || rec.Held() || len(asked) != 2 || asked[1] {
		t.Fatalf("after flush: %q flushed=%v held=%v asked=%v", w.Body, w.Flushed, rec.Held(), asked)
	}

	w = httptest.NewRecorder()
	rec = New(w, 4, decide)
	_, _ = rec.Write([]byte("abc"))
	_, _ = rec.Write([]byte("defgh"))
	if w.Body.String() != "abcdefgh" || rec.Held() {
		t.Fatalf("past the limit: %q held=%v", w.Body, rec.Held())
	}
}

func TestRecorderInformationalAndReadFrom(t *testing.T) {
	w := httptest.NewRecorder()
	calls := 0
	rec := New(w, 100, func(int, bool) Mode { calls++; return Pass })
	rec.WriteHeader(103)
	if calls != 0 || w.Code != 103 {
		t.Fatal("1xx answers are not final: they pass, Decide waits")
	}
	w = httptest.NewRecorder()
	rec = New(w, 100, func(int, bool) Mode { calls++; return Pass })
	n, err := rec.ReadFrom(strings.NewReader("streamed"))
	if err != nil || n != 8 || w.Body.String() != "streamed" || calls != 1 {
		t.Fatalf("ReadFrom: %d %v %q calls=%d", n, err, w.Body, calls)
	}
	if rec.Unwrap() != w {
		t.Fatal("Unwrap must return the wrapped writer")
	}
}

// TestRecorderKeep: a kept response stays held through flushes, for the
// owner to read whole, and is released only past the limit.
func TestRecorderKeep(t *testing.T) {
	w := httptest.NewRecorder()
	rec := New(w, 100, func(_ int, canHold bool) Mode {
		if canHold {
			return Keep
		}
		return Pass
	})
	_, _ = rec.Write([]byte("part 1,"))
	if err := http.NewResponseController(rec).Flush(); err != nil {
		t.Fatal(err)
	}
	_, _ = rec.Write([]byte("part 2"))
	if w.Body.Len() != 0 || w.Flushed || !rec.Held() || string(rec.Body()) != "part 1,part 2" {
		t.Fatalf("after a flush: client got %q flushed=%v, held=%v %q", w.Body, w.Flushed, rec.Held(), rec.Body())
	}
	_, _ = rec.Write([]byte(strings.Repeat("x", 100)))
	if rec.Held() || w.Body.Len() != 113 {
		t.Fatalf("past the limit: held=%v, client got %d bytes", rec.Held(), w.Body.Len())
	}
}
