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

// defaultServer is a docstore with Kinto's default permissions.
const defaultServer = changesGlobal + `:{port} {
	docstore {
		storage bolt {dir}/data.db
		userid_hmac_secret test-secret-of-16-bytes
	}
}
`

// TestDocstoreTranscriptFiles replays the docstore package's transcripts
// through a real server, so the in-process replay and the wire agree
// (Caddy's own header handling included).
func TestDocstoreTranscriptFiles(t *testing.T) {
	for _, c := range []struct {
		file, caddyfile string
		users           []string
	}{
		{"kinto.transcript", transcriptServer, []string{"user"}},
		{"permissions.transcript", defaultServer, []string{"alice", "bob", "carol"}},
		{"protocol.transcript", defaultServer, []string{"user"}},
	} {
		t.Run(c.file, func(t *testing.T) {
			exchanges, err := transcript.ParseFile(filepath.Join("..", "docstore", "testdata", c.file))
			if err != nil {
				t.Fatal(err)
			}
			s := testserver.Start(t, c.caddyfile)
			vars := map[string]string{"base": s.URL()}
			for _, u := range c.users {
				mac := hmac.New(sha256.New, []byte("test-secret-of-16-bytes"))
				mac.Write([]byte(u + ":" + transcript.Password))
				vars[u] = "basicauth:" + hex.EncodeToString(mac.Sum(nil))
			}
			p := &transcript.Replayer{Base: s.URL(), Vars: vars, Do: http.DefaultTransport.RoundTrip}
			p.Run(t, exchanges)
		})
	}
}
