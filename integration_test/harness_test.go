// Package integration_test drives the built execmcp binary end to end over stdio, with the official MCP Go SDK
// client and with a raw JSON-RPC line client, and checks the behaviour docs/reference.md describes.
//
// Every test that starts a server runs a leak check at its end: every process group the test learnt must answer
// ESRCH to kill(-pgid, 0), and no descendant of the server seen while it ran may survive it.
//
// This file builds the binary (TestMain) and starts and stops stdio servers. tap_test.go records what a server
// writes, procs_test.go walks /proc and holds the leak check, calls_test.go the tool-call helpers of the SDK and
// raw JSON-RPC clients, and assert_test.go the expected texts and shared assertions.
package integration_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

var (
	// binPath is the execmcp binary built once by TestMain.
	binPath string
	// serverSlots bounds the number of servers running at once across parallel tests.
	serverSlots = make(chan struct{}, 4)
)

const (
	// maxResponseBytes bounds every message the server writes (docs/reference.md#output-budget).
	maxResponseBytes = 1048576
	// legacyProtocol is the protocol version the SDK client offers unless Options.Protocol says otherwise.
	legacyProtocol = "2025-11-25"
)

func TestMain(m *testing.M) {
	flag.Parse()
	code, err := setup()
	if err != nil {
		fmt.Fprintln(os.Stderr, "integration_test:", err)
		os.Exit(1)
	}
	rc := m.Run()
	code.cleanup()
	os.Exit(rc)
}

type setupResult struct{ dir string }

func (s setupResult) cleanup() {
	if s.dir != "" {
		os.RemoveAll(s.dir)
	}
}

// setup builds the binary (or uses EXECMCP_TEST_BINARY).
func setup() (setupResult, error) {
	if p := os.Getenv("EXECMCP_TEST_BINARY"); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			return setupResult{}, err
		}
		binPath = abs
		return setupResult{}, nil
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	out, err := exec.Command(goBin, "env", "GOMOD").Output()
	if err != nil {
		return setupResult{}, fmt.Errorf("go env GOMOD: %v", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return setupResult{}, errors.New("not inside a Go module")
	}
	root := filepath.Dir(gomod)
	repoRoot = root
	dir, err := os.MkdirTemp("", "execmcp-it-")
	if err != nil {
		return setupResult{}, err
	}
	binPath = filepath.Join(dir, "execmcp")
	args := []string{"build", "-o", binPath}
	if os.Getenv("EXECMCP_TEST_RACE") == "1" {
		args = append(args, "-race")
	}
	args = append(args, ".")
	cmd := exec.Command(goBin, args...)
	cmd.Dir = root
	// The README's build: a static binary starts ~2 ms faster (no dynamic loader). -race needs cgo.
	if os.Getenv("EXECMCP_TEST_RACE") != "1" {
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	}
	if b, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return setupResult{}, fmt.Errorf("building execmcp (%s): %v\n%s", strings.Join(args, " "), err, b)
	}
	return setupResult{dir: dir}, nil
}

var (
	repoRoot    string
	sourcesOnce sync.Once
)

// touchSourcesOnce runs touchSources once, from inside m.Run (go test records opened files only from there).
func touchSourcesOnce() {
	sourcesOnce.Do(func() {
		if repoRoot != "" {
			touchSources(repoRoot)
		}
	})
}

// touchSources reads every source file of the server, so that go test's result cache (which records the files a
// test opens) is invalidated when the server changes: this package does not import the server's packages.
func touchSources(root string) {
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "integration_test", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		switch filepath.Ext(p) {
		case ".go", ".json", ".mod", ".sum", ".txt":
			os.ReadFile(p)
		}
		return nil
	})
}

// par marks a test parallel and takes one server slot for its whole duration.
func par(t *testing.T) {
	t.Helper()
	t.Parallel()
	serverSlots <- struct{}{}
	t.Cleanup(func() { <-serverSlots })
}

// slowEnabled reports whether the slow tests (over 30 s each) run: not -short and EXECMCP_SLOW=1.
func slowEnabled() bool { return !testing.Short() && os.Getenv("EXECMCP_SLOW") == "1" }

// ---------------------------------------------------------------------------------------------------------------
// Server

// Options configure a server start.
type Options struct {
	Env      []string // extra KEY=VALUE entries on top of PATH, HOME and EXECMCP_LOGIN_PATH=off (the last one wins)
	Config   string   // JSON config file content; written to the server dir and passed with EXECMCP_CONFIG
	Args     []string // command-line arguments
	Raw      bool     // do not connect the SDK client (use s.Raw())
	Protocol string   // protocol version offered by the SDK client; "" = 2025-11-25, "latest" = the SDK default
	// SysProcAttr for the server process (default: its own process group).
	SysProcAttr *syscall.SysProcAttr
	ExtraFiles  []*os.File
	NoHome      bool // do not set HOME
	// ClientName is the SDK client's clientInfo.name; "" = execmcp-integration-test.
	ClientName string
}

// Server is one running execmcp process.
type Server struct {
	calls
	t    testing.TB
	Dir  string // the server's working directory (symlinks resolved)
	Home string
	Env  []string

	cmd    *exec.Cmd
	stdinW *os.File
	tap    *tap
	stderr *lockedBuffer

	Sess   *mcp.ClientSession
	client *mcp.Client

	exited   chan struct{}
	exitCode int // valid after exited is closed; -1 when killed by a signal
	exitSig  syscall.Signal

	mu         sync.Mutex
	pgids      map[int]string
	pgLeader   map[int]pgLeader
	desc       map[int]uint64 // pid -> start time
	survivors  map[int]bool
	outSchemas schemaCache
	stopped    bool
	raw        *RawClient
	stopWalk   chan struct{}
	walkDone   chan struct{}
	cgroup     string // the server's cgroup directory when cgroups are on (serverCgroup), "" otherwise
}

func baseEnv(home string, noHome bool) []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	// A login shell rewrites PATH (Debian's /etc/profile sets its own), which would reorder the PATH of every
	// command; the tests of the login-shell PATH turn the probe on with a fake login shell.
	env := []string{"PATH=" + path, "EXECMCP_LOGIN_PATH=off"}
	if !noHome {
		env = append(env, "HOME="+home)
	}
	return env
}

// StartServer starts execmcp in a fresh temporary directory and (unless o.Raw) connects the SDK client.
func StartServer(t testing.TB, o Options) *Server {
	t.Helper()
	touchSourcesOnce()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	home, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return startServerIn(t, dir, home, o)
}

func startServerIn(t testing.TB, dir, home string, o Options) *Server {
	t.Helper()
	s := &Server{t: t, Dir: dir, Home: home, pgids: map[int]string{}, pgLeader: map[int]pgLeader{}, desc: map[int]uint64{},
		survivors: map[int]bool{}, exited: make(chan struct{}), stderr: &lockedBuffer{},
		stopWalk: make(chan struct{}), walkDone: make(chan struct{})}
	s.calls = calls{t: t, call: s.Call}
	s.Env = append(baseEnv(home, o.NoHome), o.Env...)
	if o.Config != "" {
		p := filepath.Join(dir, "execmcp-config.json")
		if err := os.WriteFile(p, []byte(o.Config), 0o644); err != nil {
			t.Fatal(err)
		}
		s.Env = append(s.Env, "EXECMCP_CONFIG="+p)
	}

	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(binPath, o.Args...)
	cmd.Dir = dir
	cmd.Env = s.Env
	cmd.Stdin = inR
	cmd.Stdout = outW
	cmd.Stderr = errW
	cmd.ExtraFiles = o.ExtraFiles
	if o.SysProcAttr != nil {
		cmd.SysProcAttr = o.SysProcAttr
	} else {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	inR.Close()
	outW.Close()
	errW.Close()
	s.cmd = cmd
	s.cgroup = serverCgroup(cmd.Process.Pid)
	s.stdinW = inW
	s.tap = newTap(outR)
	go func() {
		io.Copy(s.stderr, errR)
		errR.Close()
	}()
	go func() {
		err := cmd.Wait()
		s.exitCode = cmd.ProcessState.ExitCode()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			s.exitSig = ws.Signal()
		}
		_ = err
		close(s.exited)
	}()
	go s.walkDescendants()
	t.Cleanup(s.cleanup)

	if o.Raw {
		s.raw = newRawClient(s)
		return s
	}
	clientName := o.ClientName
	if clientName == "" {
		clientName = "execmcp-integration-test"
	}
	s.client = mcp.NewClient(&mcp.Implementation{Name: clientName, Version: "1.0.0"},
		&mcp.ClientOptions{Capabilities: &mcp.ClientCapabilities{}})
	proto := o.Protocol
	switch proto {
	case "":
		proto = legacyProtocol
	case "latest":
		proto = ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sess, err := s.client.Connect(ctx, &mcp.IOTransport{Reader: s.tap, Writer: inW, MaxLineLength: -1},
		&mcp.ClientSessionOptions{ProtocolVersion: proto})
	if err != nil {
		t.Fatalf("connecting to execmcp: %v\nstderr:\n%s", err, s.stderr.String())
	}
	s.Sess = sess
	return s
}

// Stderr returns everything the server wrote to stderr so far.
func (s *Server) Stderr() string { return s.stderr.String() }

// Pid is the server's pid.
func (s *Server) Pid() int { return s.cmd.Process.Pid }

// Messages returns all JSON-RPC messages the server wrote so far.
func (s *Server) Messages() []message { m, _ := s.tap.snapshot(); return m }

// ---------------------------------------------------------------------------------------------------------------
// stopping and cleanup

// Signal sends sig to the server.
func (s *Server) Signal(sig syscall.Signal) {
	if err := s.cmd.Process.Signal(sig); err != nil {
		s.t.Errorf("signal %v to server: %v", sig, err)
	}
}

// WaitExit waits for the server to exit; false on timeout.
func (s *Server) WaitExit(d time.Duration) bool {
	select {
	case <-s.exited:
		return true
	case <-time.After(d):
		return false
	}
}

// ExitCode is the exit status (after WaitExit).
func (s *Server) ExitCode() int { return s.exitCode }

func (s *Server) markStopped() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return false
	}
	s.stopped = true
	return true
}

// Stop stops the server with sig (SIGTERM by default) and asserts exit status 0 within 10 s.
func (s *Server) Stop(sig syscall.Signal) {
	s.t.Helper()
	if !s.markStopped() {
		return
	}
	s.snapshotDescendants()
	if sig == 0 {
		sig = syscall.SIGTERM
	}
	start := time.Now()
	if err := s.cmd.Process.Signal(sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
		s.t.Errorf("signal %v to server: %v", sig, err)
	}
	s.awaitExit(start, sig.String())
}

// StopByStdinClose closes the server's stdin and asserts exit status 0 within 10 s.
func (s *Server) StopByStdinClose() {
	s.t.Helper()
	if !s.markStopped() {
		return
	}
	s.snapshotDescendants()
	start := time.Now()
	s.stdinW.Close()
	s.awaitExit(start, "stdin close")
}

// Kill kills the server with SIGKILL (no exit status assertion).
func (s *Server) Kill() {
	if !s.markStopped() {
		return
	}
	s.snapshotDescendants()
	s.cmd.Process.Kill()
	if !s.WaitExit(10 * time.Second) {
		s.t.Errorf("server did not die after SIGKILL")
	}
	s.closeClient()
}

func (s *Server) awaitExit(start time.Time, how string) {
	s.t.Helper()
	if !s.WaitExit(10 * time.Second) {
		s.t.Errorf("server did not exit within 10 s after %s", how)
		s.cmd.Process.Kill()
		s.WaitExit(5 * time.Second)
	} else if s.exitCode != 0 {
		s.t.Errorf("server exit status after %s = %d (signal %v), want 0", how, s.exitCode, s.exitSig)
	}
	if el := time.Since(start); el > time.Second {
		s.t.Logf("server took %v to exit after %s", el.Round(time.Millisecond), how)
	}
	s.closeClient()
}

func (s *Server) closeClient() {
	if s.Sess != nil {
		done := make(chan struct{})
		go func() { s.Sess.Close(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
	}
	s.stdinW.Close()
	if s.raw != nil {
		s.raw.close()
	}
}

// cleanup stops the server at the end of the test and checks what it left behind: no process group or
// descendant survives it, stdout carried only JSON-RPC messages within the size bound, and no data race.
func (s *Server) cleanup() {
	t := s.t
	s.Stop(syscall.SIGTERM)
	close(s.stopWalk)
	<-s.walkDone

	s.checkLeaks()
	if bad := s.tap.badLines(); len(bad) > 0 {
		t.Errorf("stdout carried %d non-JSON-RPC lines, first: %q", len(bad), bad[0])
	}
	msgs, _ := s.tap.snapshot()
	for _, m := range msgs {
		if m.Size > maxResponseBytes {
			t.Errorf("a message of %d bytes exceeds 1 MiB (method %q id %s)", m.Size, m.Method, m.ID)
		}
	}
	if strings.Contains(s.stderr.String(), "DATA RACE") {
		t.Errorf("the server reported a data race on stderr")
	}
	if t.Failed() {
		e := s.stderr.String()
		if len(e) > 20000 {
			e = "...\n" + e[len(e)-20000:]
		}
		t.Logf("server stderr:\n%s", e)
	}
}
