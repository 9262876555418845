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

// referenceConfig is the reference run's server: Basic auth, anyone may
// create buckets, flush and permissions endpoints on.
var referenceConfig = docstore.Config{
	BasicAuth:              true,
	UserIDHMACSecret:       transcriptSecret,
	BucketCreatePrincipals: []string{"system.Everyone"},
	FlushEnabled:           true,
	PermissionsEndpoint:    true,
}

// defaultConfig is Kinto's default: Basic auth, authenticated users may
// create buckets.
var defaultConfig = docstore.Config{BasicAuth: true, UserIDHMACSecret: transcriptSecret}

// basicUserID is Kinto's Basic auth principal of name:pass:
// "basicauth:" + hex(HMAC-SHA256(userid_hmac_secret, "name:pass")).
func basicUserID(name string) string {
	mac := hmac.New(sha256.New, []byte(transcriptSecret))
	mac.Write([]byte(name + ":" + transcript.Password))
	return "basicauth:" + hex.EncodeToString(mac.Sum(nil))
}

// replay runs a transcript file of testdata against a fresh handler on
// memory storage.
func replay(t *testing.T, file string, cfg docstore.Config, users ...string) {
	exchanges, err := transcript.ParseFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	const base = "http://127.0.0.1:8888"
	vars := map[string]string{"base": base}
	for _, u := range users {
		vars[u] = basicUserID(u)
	}
	h, err := docstore.NewHandler(docstore.NewStore(memory.New()), cfg, nil)
	if err != nil {
		t.Fatalf("building the handler: %v", err)
	}
	p := &transcript.Replayer{Base: base, Vars: vars, Do: transcript.HandlerDo(h)}
	p.Run(t, exchanges)
}

// TestKintoTranscript replays the reference Kinto run's document API
// entries: statuses, protocol headers and exact bodies.
func TestKintoTranscript(t *testing.T) {
	replay(t, "kinto.transcript", referenceConfig, "user")
}

// TestPermissionTable replays Kinto's permission model: who may do what,
// 401 against 403 against 404, inheritance and group principals.
func TestPermissionTable(t *testing.T) {
	replay(t, "permissions.transcript", defaultConfig, "alice", "bob", "carol")
}

// TestProtocolTranscript replays the documented protocol rules the
// reference run does not show: preconditions, filters, PATCH flavours,
// plural DELETE and batch.
func TestProtocolTranscript(t *testing.T) {
	replay(t, "protocol.transcript", defaultConfig, "user")
}
