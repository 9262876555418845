package integration

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/changegate/changegate/internal/testserver"
	"github.com/changegate/changegate/internal/transcript"
)

// transcriptServer is the reference run's server: Basic auth, anyone may
// create buckets, flush and permissions endpoints on.
const transcriptServer = changesGlobal + `:{port} {
	docstore {
		storage bolt {dir}/data.db
		userid_hmac_secret test-secret-of-16-bytes
		bucket_create_principals system.Everyone
		flush_endpoint
		permissions_endpoint
	}
}
`

// TestDocstoreTranscriptFile replays the docstore package's transcript of
// Kinto's reference run through a real server, so the in-process replay
// and the wire agree (Caddy's own header handling included).
func TestDocstoreTranscriptFile(t *testing.T) {
	exchanges, err := transcript.ParseFile(filepath.Join("..", "docstore", "testdata", "kinto.transcript"))
	if err != nil {
		t.Fatal(err)
	}
	s := testserver.Start(t, transcriptServer)
	mac := hmac.New(sha256.New, []byte("test-secret-of-16-bytes"))
	mac.Write([]byte("user:" + transcript.Password))
	p := &transcript.Replayer{
		Base: s.URL(),
		Vars: map[string]string{"base": s.URL(), "user": "basicauth:" + hex.EncodeToString(mac.Sum(nil))},
		Do:   http.DefaultTransport.RoundTrip,
	}
	p.Run(t, exchanges)
}
