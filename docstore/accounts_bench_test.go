package docstore_test

import (
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/changegate/changegate/docstore"
	"github.com/changegate/changegate/docstore/bolt"
)

// BenchmarkRecordGetAuth compares a record GET authenticated by an
// account (bcrypt at the default cost, then the verified-credentials
// cache) with the same GET under plain basicauth, each on its own bbolt
// file. bench/accounts.sh runs the two in alternation.
func BenchmarkRecordGetAuth(b *testing.B) {
	for _, mode := range []string{"basicauth", "accounts"} {
		b.Run(mode, func(b *testing.B) {
			cfg := docstore.Config{UserIDHMACSecret: "s", BasicAuth: mode == "basicauth"}
			if mode == "accounts" {
				cfg.Accounts = &docstore.AccountsConfig{CreatePrincipals: []string{docstore.Everyone}}
			}
			engine, err := bolt.Open(filepath.Join(b.TempDir(), "data.db"), bolt.Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer engine.Close()
			h, err := docstore.NewHandler(docstore.NewStore(engine), cfg, nil)
			if err != nil {
				b.Fatal(err)
			}
			authz := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))
			send := func(method, path, body string) *httptest.ResponseRecorder {
				r := httptest.NewRequest(method, path, strings.NewReader(body))
				if body == "" {
					r.Body = http.NoBody
				}
				r.Header.Set("Authorization", authz)
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				return w
			}
			if mode == "accounts" {
				r := httptest.NewRequest("PUT", "/v1/accounts/alice", strings.NewReader(`{"data":{"password":"s3cret"}}`))
				w := httptest.NewRecorder()
				h.ServeHTTP(w, r)
				if w.Code != 201 {
					b.Fatalf("creating the account: %d %s", w.Code, w.Body)
				}
			}
			for _, p := range []string{"/v1/buckets/b", "/v1/buckets/b/collections/c", "/v1/buckets/b/collections/c/records/r"} {
				if w := send("PUT", p, `{"data":{"title":"a record of some thirty bytes"}}`); w.Code != 201 {
					b.Fatalf("PUT %s: %d %s", p, w.Code, w.Body)
				}
			}
			// The first authenticated request pays bcrypt once; the loop
			// measures the steady state.
			send("GET", "/v1/buckets/b/collections/c/records/r", "")
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				if w := send("GET", "/v1/buckets/b/collections/c/records/r", ""); w.Code != 200 {
					b.Fatalf("GET: %d %s", w.Code, w.Body)
				}
			}
			// CPU time per request: on a shared machine, other processes
			// stretch wall time but not the CPU this process spends.
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
		})
	}
}

// processCPU is the user and system CPU time this process used, in
// nanoseconds.
func processCPU() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
