// Package testserver builds the changegate binary once per test process and
// runs it as a real server from a Caddyfile, for end-to-end tests.
package testserver

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/changegate/changegate/internal/pgtest"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary returns the path of a freshly built changegate binary, building
// it on first use (the Go build cache makes later builds cheap).
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "changegate-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "changegate")
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/changegate")
		cmd.Dir = moduleRoot()
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("building changegate: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// moduleRoot is the repository root (where go.mod is).
func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// FreePort returns a TCP port free on every address right now, below
// the kernel's ephemeral range and never handed out before in this
// process. A port from the ephemeral range could be given, between this
// check and changegate's bind, to a test server of another package
// listening on 127.0.0.1:0; bound to that address, it would take the
// requests meant for changegate's wildcard listener ("404 page not
// found" from the wrong server).
func FreePort(t testing.TB) int {
	t.Helper()
	low := ephemeralLow()
	ports.Lock()
	defer ports.Unlock()
	for range 200 {
		p := 10000 + rand.IntN(low-10000)
		if ports.given[p] {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf(":%d", p))
		if err != nil {
			continue
		}
		l.Close()
		ports.given[p] = true
		return p
	}
	t.Fatal("no free TCP port found below the ephemeral range")
	return 0
}

// ports are those FreePort handed out.
var ports = struct {
	sync.Mutex
	given map[int]bool
}{given: map[int]bool{}}

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's
// default when it cannot be read).
func ephemeralLow() int {
	low := 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) > 0 {
			if n, err := strconv.Atoi(f[0]); err == nil && n > 11000 {
				low = n
			}
		}
	}
	return low
}

// Server is a running changegate process.
type Server struct {
	t         testing.TB
	cmd       *exec.Cmd
	dir       string
	config    string
	AdminPort int
	Port      int
	log       *syncBuffer
	done      chan error
	// schemas maps bolt file names to PostgreSQL DSNs (see swapStorage).
	schemas map[string]string
}

// URL is the server's base URL (http://127.0.0.1:port).
func (s *Server) URL() string { return fmt.Sprintf("http://127.0.0.1:%d", s.Port) }

// Dir is the server's working directory (its data lives there).
func (s *Server) Dir() string { return s.dir }

// Start runs changegate with a Caddyfile. In the text, {port} and
// {admin} are replaced by the HTTP and admin ports and {dir} by a
// per-server temporary directory. The server is stopped when the test
// ends.
func Start(t testing.TB, caddyfile string) *Server {
	t.Helper()
	s := &Server{t: t, dir: t.TempDir(), AdminPort: FreePort(t), Port: FreePort(t)}
	s.config = s.expand(caddyfile)
	s.start()
	t.Cleanup(s.Stop)
	return s
}

// Restart starts the same server again (after Stop or Kill), with the
// same ports and data directory.
func (s *Server) Restart() {
	s.t.Helper()
	s.start()
}

func (s *Server) expand(caddyfile string) string {
	caddyfile = s.swapStorage(caddyfile)
	r := strings.NewReplacer("{port}", fmt.Sprint(s.Port), "{admin}", fmt.Sprint(s.AdminPort), "{dir}", s.dir)
	return r.Replace(caddyfile)
}

// boltStorage matches the storage lines of test Caddyfiles, and the
// `docstore <file>` option of changes that names one.
var boltStorage = regexp.MustCompile(`(storage bolt|docstore) \{dir\}/(\S+)`)

// BoltOnly skips a test of the bbolt file itself (its lock, its size,
// its fsyncs, its backup, the secret file kept next to it) when
// CHANGEGATE_TEST_STORAGE swaps the storage for PostgreSQL.
func BoltOnly(t *testing.T) {
	t.Helper()
	if os.Getenv("CHANGEGATE_TEST_STORAGE") == "postgres" {
		t.Skip("tests the bbolt file; CHANGEGATE_TEST_STORAGE=postgres runs the other tests on PostgreSQL")
	}
}

// swapStorage runs every test on PostgreSQL when CHANGEGATE_TEST_STORAGE
// is "postgres": each bolt file of a server becomes a schema of its own,
// kept across restarts and reloads of that server.
func (s *Server) swapStorage(caddyfile string) string {
	if os.Getenv("CHANGEGATE_TEST_STORAGE") != "postgres" {
		return caddyfile
	}
	return boltStorage.ReplaceAllStringFunc(caddyfile, func(m string) string {
		sub := boltStorage.FindStringSubmatch(m)
		file := sub[2]
		if s.schemas == nil {
			s.schemas = map[string]string{}
		}
		dsn, ok := s.schemas[file]
		if !ok {
			dsn = pgtest.Schema(s.t, "pool_max_conns=8")
			s.schemas[file] = dsn
		}
		if sub[1] == "docstore" {
			return fmt.Sprintf("docstore %q", dsn)
		}
		return fmt.Sprintf("storage postgres %q", dsn)
	})
}

// Reload loads a new Caddyfile into the running server (caddy reload).
func (s *Server) Reload(caddyfile string) error {
	s.config = s.expand(caddyfile)
	path := filepath.Join(s.dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(s.config), 0o600); err != nil {
		return err
	}
	cmd := exec.Command(Binary(s.t), "reload", "--config", path, "--adapter", "caddyfile",
		"--address", fmt.Sprintf("localhost:%d", s.AdminPort))
	cmd.Dir = s.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("caddy reload: %v\n%s", err, out)
	}
	return nil
}

func (s *Server) start() {
	s.t.Helper()
	path := filepath.Join(s.dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(s.config), 0o600); err != nil {
		s.t.Fatal(err)
	}
	s.log = &syncBuffer{}
	s.cmd = exec.Command(Binary(s.t), "run", "--config", path, "--adapter", "caddyfile")
	s.cmd.Dir = s.dir
	s.cmd.Env = append(os.Environ(), "XDG_DATA_HOME="+filepath.Join(s.dir, "xdg-data"), "XDG_CONFIG_HOME="+filepath.Join(s.dir, "xdg-config"))
	s.cmd.Stdout = s.log
	s.cmd.Stderr = s.log
	if err := s.cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.done = make(chan error, 1)
	go func(cmd *exec.Cmd, done chan error) { done <- cmd.Wait() }(s.cmd, s.done)
	s.waitReady()
}

// waitReady polls the admin endpoint until the config is running.
func (s *Server) waitReady() {
	s.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			s.done <- err
			s.t.Fatalf("changegate exited during start: %v\n%s", err, s.log)
		default:
		}
		resp, err := client.Get(fmt.Sprintf("http://localhost:%d/config/", s.AdminPort))
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK && s.listening() {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	s.t.Fatalf("changegate did not start within 30s\n%s", s.log)
}

func (s *Server) listening() bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.Port), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Stop ends the server gracefully (SIGINT), as `caddy stop` would.
func (s *Server) Stop() { s.signal(syscall.SIGINT) }

// Kill ends the server at once (SIGKILL): nothing gets a chance to flush.
func (s *Server) Kill() { s.signal(syscall.SIGKILL) }

func (s *Server) signal(sig syscall.Signal) {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Signal(sig)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
	s.cmd = nil
}

// Log returns what the server printed so far.
func (s *Server) Log() string { return s.log.String() }

// syncBuffer is a bytes.Buffer safe for the process's output goroutines
// and the test reading it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
