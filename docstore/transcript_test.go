package docstore_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/changegate/changegate/docstore"
	"github.com/changegate/changegate/docstore/memory"
	"github.com/changegate/changegate/internal/transcript"
)

const transcriptSecret = "test-secret-of-16-bytes"

// transcriptHandler is the reference run's server: Basic auth, anyone may
// create buckets, flush and permissions endpoints on, memory storage.
func transcriptHandler(t *testing.T) *docstore.Handler {
	t.Helper()
	h, err := docstore.NewHandler(docstore.NewStore(memory.New()), docstore.Config{
		BasicAuth:              true,
		UserIDHMACSecret:       transcriptSecret,
		BucketCreatePrincipals: []string{"system.Everyone"},
		FlushEnabled:           true,
		PermissionsEndpoint:    true,
	}, nil)
	if err != nil {
		t.Fatalf("building the handler: %v", err)
	}
	return h
}

// basicUserID is Kinto's Basic auth principal of name:pass:
// "basicauth:" + hex(HMAC-SHA256(userid_hmac_secret, "name:pass")).
func basicUserID(name string) string {
	mac := hmac.New(sha256.New, []byte(transcriptSecret))
	mac.Write([]byte(name + ":" + transcript.Password))
	return "basicauth:" + hex.EncodeToString(mac.Sum(nil))
}

// replay runs a transcript file of testdata against a fresh handler.
func replay(t *testing.T, file string, users ...string) {
	exchanges, err := transcript.ParseFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{}
	for _, u := range users {
		vars[u] = basicUserID(u)
	}
	p := &transcript.Replayer{Base: "http://127.0.0.1:8888", Vars: vars, Do: transcript.HandlerDo(transcriptHandler(t))}
	p.Run(t, exchanges)
}

// TestKintoTranscript replays the reference Kinto run's document API
// entries: statuses, protocol headers and exact bodies.
func TestKintoTranscript(t *testing.T) {
	replay(t, "kinto.transcript", "user")
}
