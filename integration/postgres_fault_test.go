package integration

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/changegate/changegate/internal/testserver"
)

// privatePostgres is a PostgreSQL server of the test's own, in a temp
// dir on a free loopback port, so that it can be stopped and started
// without touching the shared one.
type privatePostgres struct {
	t        *testing.T
	bin, dir string
	port     int
	runAs    []string // "runuser -u postgres --" when the test runs as root
	dsn      string
	stopped  bool
	stopOnce sync.Once
}

// startPrivatePostgres runs initdb and starts the server; it skips the
// test (fails it under CI) when initdb is not installed.
func startPrivatePostgres(t *testing.T) *privatePostgres {
	t.Helper()
	bin := postgresBinDir()
	if bin == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("initdb and pg_ctl not found (PATH, pg_config --bindir, /usr/lib/postgresql/*/bin)")
		}
		t.Skip("initdb and pg_ctl not found: the PostgreSQL restart test needs a private server")
	}
	dir, err := os.MkdirTemp("", "changegate-pg-")
	if err != nil {
		t.Fatal(err)
	}
	p := &privatePostgres{t: t, bin: bin, dir: dir, port: testserver.FreePort(t)}
	t.Cleanup(func() {
		p.pgCtl("stop", "-m", "immediate")
		os.RemoveAll(dir)
	})
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Skipf("running as root without a postgres user to run PostgreSQL as: %v", err)
		}
		p.runAs = []string{"runuser", "-u", u.Username, "--"}
		if out, err := exec.Command("chown", u.Username, dir).CombinedOutput(); err != nil {
			t.Fatalf("chown %s: %v %s", dir, err, out)
		}
	}
	p.run(filepath.Join(bin, "initdb"), "-D", p.data(), "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8")
	p.Start()
	p.dsn = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres", p.port)
	return p
}

// postgresBinDir finds the directory holding initdb and pg_ctl.
func postgresBinDir() string {
	var dirs []string
	if path, err := exec.LookPath("initdb"); err == nil {
		dirs = append(dirs, filepath.Dir(path))
	}
	if path, err := exec.LookPath("pg_ctl"); err == nil {
		if real, err := filepath.EvalSymlinks(path); err == nil {
			dirs = append(dirs, filepath.Dir(real))
		}
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	for _, d := range append(dirs, found...) {
		if isFile(filepath.Join(d, "initdb")) && isFile(filepath.Join(d, "pg_ctl")) {
			return d
		}
	}
	return ""
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir()
}

func (p *privatePostgres) data() string { return filepath.Join(p.dir, "data") }

// run runs a PostgreSQL program as the server's user.
func (p *privatePostgres) run(name string, args ...string) {
	p.t.Helper()
	argv := append(append(append([]string{}, p.runAs...), name), args...)
	if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
		p.t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
}

// pgCtl runs pg_ctl, reporting failure instead of failing the test.
func (p *privatePostgres) pgCtl(args ...string) error {
	argv := append(append(append([]string{}, p.runAs...), filepath.Join(p.bin, "pg_ctl"), "-D", p.data()), args...)
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return nil
}

// Start starts the server (durable commits, the default) and waits for it.
func (p *privatePostgres) Start() {
	p.t.Helper()
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=60 -c synchronous_commit=on", p.port, p.dir)
	if err := p.pgCtl("start", "-w", "-t", "30", "-l", filepath.Join(p.dir, "log"), "-o", opts); err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "log"))
		p.t.Fatalf("%v\n%s", err, log)
	}
}

// Stop shuts the server down as an operator's restart does: "fast"
// disconnects every client and aborts their transactions.
func (p *privatePostgres) Stop() {
	p.t.Helper()
	if err := p.pgCtl("stop", "-w", "-m", "fast"); err != nil {
		p.t.Fatal(err)
	}
}

// TestPostgresRestartUnderLoad: PostgreSQL stopped and started while two
// instances take writes and followers read. Requests that meet the outage
// fail with Kinto's 503 errno 201 and Retry-After (a longpoll whose 200
// went out before cannot: its body ends short); both instances then
// serve again by themselves (pool and listener); every acknowledged write
// is in the database and reaches every follower, once.
func TestPostgresRestartUnderLoad(t *testing.T) {
	pg := startPrivatePostgres(t)
	dsn := pg.dsn + "?pool_max_conns=8"
	sa := testserver.Start(t, fmt.Sprintf(postgresCaddyfile, dsn))
	sb := testserver.Start(t, fmt.Sprintf(postgresCaddyfile, dsn))
	a, b := sa.URL()+"/v1", sb.URL()+"/v1"
	do(t, "PUT", a+"/buckets/main", `{"permissions":{"read":["system.Everyone"]}}`, basic("alice")).expectStatus(t, 201)
	do(t, "PUT", a+"/buckets/main/collections/c", "{}", basic("alice")).expectStatus(t, 201)

	done := make(chan struct{})
	var followers sync.WaitGroup
	var results []*follower
	for _, v1 := range []string{a, b} {
		for _, kind := range []string{"records", "changeset", "longpoll"} {
			f := &follower{t: t, v1: v1, kind: kind, ids: map[string]int{}, outage: true}
			results = append(results, f)
			followers.Go(func() { f.run(done) })
		}
	}

	var mu sync.Mutex
	acked := map[string]bool{}
	var refused, afterRestart atomic.Int64
	var restarted atomic.Bool
	stop := make(chan struct{})
	var writers sync.WaitGroup
	for i, v1 := range []string{a, b} {
		for w := range 4 {
			writers.Go(func() {
				for n := 0; ; n++ {
					select {
					case <-stop:
						return
					default:
					}
					id := fmt.Sprintf("i%d-w%d-n%d", i, w, n)
					r, err := tryDo("PUT", v1+"/buckets/main/collections/c/records/"+id, `{"data":{}}`, basic("alice"))
					switch {
					case err != nil:
						t.Errorf("PUT %s: %v", id, err)
						return
					case r.status == 201:
						mu.Lock()
						acked[id] = true
						mu.Unlock()
						if restarted.Load() {
							afterRestart.Add(1)
						}
					case r.status == 503:
						if err := checkBackendUnavailable(r); err != nil {
							t.Errorf("PUT %s: %v", id, err)
							return
						}
						refused.Add(1)
						time.Sleep(20 * time.Millisecond)
					default:
						t.Errorf("PUT %s: %d %s", id, r.status, r.body)
						return
					}
				}
			})
		}
	}

	time.Sleep(time.Second)
	pg.Stop()
	time.Sleep(1500 * time.Millisecond)
	pg.Start()
	restarted.Store(true)
	deadline := time.Now().Add(20 * time.Second)
	for afterRestart.Load() < 200 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	close(stop)
	writers.Wait()
	close(done)
	followers.Wait()

	t.Logf("%d acknowledged writes, %d refused with 503 during the outage, %d acknowledged after the restart",
		len(acked), refused.Load(), afterRestart.Load())
	if refused.Load() == 0 {
		t.Error("no write met the outage: the test did not test it")
	}
	if afterRestart.Load() < 200 {
		t.Fatalf("only %d writes acknowledged in 20 s after PostgreSQL came back", afterRestart.Load())
	}
	for _, f := range results {
		missed, dups := 0, 0
		for id := range acked {
			if f.ids[id] == 0 {
				missed++
			}
		}
		for _, n := range f.ids {
			if n > 1 {
				dups++
			}
		}
		t.Logf("%s follower on %s: %d seen, %d acknowledged missed, %d seen twice, %d answers 503, %d cut short", f.kind, f.v1, len(f.ids), missed, dups, f.refused, f.cut)
		if missed != 0 || dups != 0 {
			t.Errorf("%s follower on %s missed %d acknowledged writes and saw %d twice", f.kind, f.v1, missed, dups)
		}
	}
	// Each instance's listener is back: a longpoll parked on one wakes on
	// a write through the other long before its timeout.
	for _, pair := range [][2]string{{a, b}, {b, a}} {
		start := time.Now()
		resp := openFeed(t, "GET", pair[1]+"/buckets/main/collections/c/_changes?feed=longpoll&since=now&timeout=10000", "")
		time.Sleep(100 * time.Millisecond)
		id := fmt.Sprint("wake-", time.Now().UnixNano())
		lm := feedsPut(t, pair[0], "c", id)
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(body), fmt.Sprintf(`{"seq":"%d","id":%q,`, lm, id)) || time.Since(start) > 5*time.Second {
			t.Errorf("longpoll on %s after the restart: %q after %v; want %s at once", pair[1], body, time.Since(start), id)
		}
	}
}

// checkBackendUnavailable checks Kinto's answer to a storage outage.
func checkBackendUnavailable(r result) error {
	var body struct {
		Code  int    `json:"code"`
		Errno int    `json:"errno"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.body), &body); err != nil || body.Code != 503 || body.Errno != 201 || body.Error != "Service Unavailable" {
		return fmt.Errorf("503 body %s; want Kinto's errno 201", r.body)
	}
	if r.header.Get("Retry-After") == "" {
		return fmt.Errorf("503 without Retry-After: %v", r.header)
	}
	return nil
}
