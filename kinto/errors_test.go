package kinto

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
)

// The bodies other layers once wrote by hand (throttle's 429 and 503)
// must come out byte for byte as kinto.core renders them.
func TestErrorBodies(t *testing.T) {
	for _, c := range []struct {
		e    *Error
		want string
	}{
		{TooManyRequests(), `{"code":429,"errno":117,"error":"Too Many Requests","message":"Client has sent too many requests"}`},
		{Backend(), `{"code":503,"errno":201,"error":"Service Unavailable","message":"Service temporary unavailable due to overloading or maintenance, please retry later."}`},
		{UnknownPath(), `{"code":404,"errno":111,"error":"Not Found","message":"The resource you are looking for could not be found."}`},
		{Invalid(ValidationDetail{Location: "querystring", Name: "_since", Description: "_since must be an integer"}),
			`{"code":400,"errno":107,"error":"Invalid parameters","message":"_since must be an integer","details":[{"location":"querystring","name":"_since","description":"_since must be an integer"}]}`},
	} {
		if got := string(c.e.Body()); got != c.want {
			t.Errorf("body = %s\nwant   %s", got, c.want)
		}
	}
}

func TestMethodNotAllowedCarriesAllow(t *testing.T) {
	e := MethodNotAllowed("GET, HEAD")
	dst := http.Header{}
	e.CopyHeaderTo(dst)
	if dst.Get("Allow") != "GET, HEAD" || e.Code != http.StatusMethodNotAllowed || e.Errno != ErrnoMethodNotAllowed {
		t.Fatalf("got %d/%d Allow=%q", e.Code, e.Errno, dst.Get("Allow"))
	}
}

func TestIsNotFoundAndAsError(t *testing.T) {
	wrapped := fmt.Errorf("reading: %w", UnknownPath())
	if !IsNotFound(wrapped) || IsNotFound(Backend()) || IsNotFound(errors.New("x")) {
		t.Fatal("IsNotFound misreads")
	}
	if e := AsError(errors.New("boom")); e.Code != 500 || e.Errno != ErrnoUndefined {
		t.Fatalf("AsError = %d/%d", e.Code, e.Errno)
	}
}
