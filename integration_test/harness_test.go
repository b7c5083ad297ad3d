// Package integration_test drives the built execmcp binary end to end over stdio, with the official MCP Go SDK
// client and with a raw JSON-RPC line client, and checks the scenarios of the specification's acceptance.md.
//
// Every test that starts a server runs a leak check at its end: every process group the test learnt must answer
// ESRCH to kill(-pgid, 0), and no descendant of the server seen while it ran may survive it.
package integration_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

var (
	// binPath is the execmcp binary built once by TestMain.
	binPath string
	// serverSlots bounds the number of servers running at once across parallel tests.
	serverSlots = make(chan struct{}, 4)
)

const (
	maxResponseBytes = 1048576
	legacyProtocol   = "2025-11-25"
	runningTextFmt   = "Command still running (session %s, pid %d). Use process (list/poll/log/write/kill/clear/remove) for follow-up."
	noSessionsText   = "No running or recent sessions."
	omittedNote      = "[earlier output is omitted from this poll; use action=log with offset and limit to inspect retained output]"
	discardedNote    = "[earlier output was discarded at the retention cap and cannot be recovered]"
	wakeDisabledText = "Automatic completion wake is disabled for this command. If the task needs this result, use process poll with a timeout to collect it before ending the turn, unless another continuation is already arranged."
	syncWarning      = "Warning: background execution is disabled; running synchronously."
)

// idRe is the session id regex of registry.md §4.
var idRe = regexp.MustCompile(`^[a-z]+(-[a-z]+){1,2}(-[0-9]{1,2}|-[a-z0-9]{3}(-[a-z0-9]+)?)?$`)

func timeoutText(t string) string {
	return "Command timed out after " + t + " seconds. If this command is expected to take longer, re-run with a higher timeout (e.g., exec timeout=300). If it should keep running, start it with exec background=true or yieldMs so execmcp can register a pollable process session. Do not rely on shell backgrounding with a trailing &.\n" +
		"The command was terminated, but external side effects may already have completed. Verify the resulting state before retrying. Do not automatically rerun non-idempotent commands. Use a higher timeout only when the command is known to be safe to retry."
}

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

// slowEnabled reports whether [slow] scenarios run: not -short and EXECMCP_SLOW=1.
func slowEnabled() bool { return !testing.Short() && os.Getenv("EXECMCP_SLOW") == "1" }

// ---------------------------------------------------------------------------------------------------------------
// stdout tap: records every JSON-RPC message the server writes.

type message struct {
	At     time.Time
	Size   int // bytes of the line, without the newline
	Raw    json.RawMessage
	Method string
	ID     string // raw JSON of the id, "" when absent
	Params json.RawMessage
	Result json.RawMessage
	Error  json.RawMessage
}

func (m message) isNotification() bool { return m.Method != "" && m.ID == "" }
func (m message) isResponse() bool     { return m.Method == "" && m.ID != "" }

type tap struct {
	r *os.File

	mu      sync.Mutex
	partial []byte
	msgs    []message
	bad     []string
	changed chan struct{}
}

func newTap(r *os.File) *tap { return &tap{r: r, changed: make(chan struct{})} }

func (t *tap) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		t.feed(p[:n])
	}
	return n, err
}

func (t *tap) Close() error { return t.r.Close() }

func (t *tap) feed(b []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.partial = append(t.partial, b...)
	for {
		i := bytes.IndexByte(t.partial, '\n')
		if i < 0 {
			break
		}
		line := t.partial[:i]
		t.partial = t.partial[i+1:]
		t.record(line)
	}
	if len(t.partial) == 0 {
		t.partial = nil
	}
}

func (t *tap) record(line []byte) {
	line = bytes.TrimSuffix(line, []byte("\r"))
	m, bad, ok := parseMessage(line, time.Now())
	if !ok {
		t.bad = append(t.bad, bad)
		return
	}
	t.msgs = append(t.msgs, m)
	close(t.changed)
	t.changed = make(chan struct{})
}

// parseMessage decodes one JSON-RPC message seen at at; when it is not one, bad is its start, for the report.
func parseMessage(raw []byte, at time.Time) (m message, bad string, ok bool) {
	var w struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Method  string          `json:"method"`
		Params  json.RawMessage `json:"params"`
		Result  json.RawMessage `json:"result"`
		Error   json.RawMessage `json:"error"`
	}
	if err := json.Unmarshal(raw, &w); err != nil || w.JSONRPC != "2.0" {
		s := string(raw)
		if len(s) > 300 {
			s = s[:300] + "..."
		}
		return message{}, s, false
	}
	m = message{At: at, Size: len(raw), Raw: append(json.RawMessage(nil), raw...), Method: w.Method,
		Params: w.Params, Result: w.Result, Error: w.Error}
	if len(w.ID) > 0 && string(w.ID) != "null" {
		m.ID = string(w.ID)
	}
	return m, "", true
}

// snapshot returns the messages seen so far and a channel closed at the next message.
func (t *tap) snapshot() ([]message, <-chan struct{}) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]message(nil), t.msgs...), t.changed
}

func (t *tap) badLines() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]string(nil), t.bad...)
}

// ---------------------------------------------------------------------------------------------------------------
// locked buffer for stderr

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// ---------------------------------------------------------------------------------------------------------------
// Server

// Options configure a server start.
type Options struct {
	Env      []string // extra KEY=VALUE entries on top of PATH and HOME
	Config   string   // JSON config file content; written to the server dir and passed with EXECMCP_CONFIG
	Args     []string // command-line arguments
	Raw      bool     // do not connect the SDK client (use s.Raw())
	Protocol string   // protocol version offered by the SDK client; "" = 2025-11-25, "latest" = the SDK default
	// SysProcAttr for the server process (default: its own process group).
	SysProcAttr *syscall.SysProcAttr
	ExtraFiles  []*os.File
	NoHome      bool // do not set HOME
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
}

func baseEnv(home string, noHome bool) []string {
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	env := []string{"PATH=" + path}
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
	s.client = mcp.NewClient(&mcp.Implementation{Name: "execmcp-integration-test", Version: "1.0.0"},
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

// TrackPG records a process group the test expects to be gone at the end.
func (s *Server) TrackPG(pgid int, what string) {
	if pgid <= 1 {
		s.t.Errorf("refusing to track process group %d (%s)", pgid, what)
		return
	}
	l := pgLeader{known: true}
	if _, l.start, _, l.known = procStat(pgid); !l.known {
		l.start = uptimeTicks()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	// A long run reuses pids: a group id seen again belongs to a newer group, the only one that can still exist.
	s.pgids[pgid] = what
	s.pgLeader[pgid] = l
}

// pgLeader identifies a tracked group by its leader: the leader's start time when the test learnt the group
// (clock ticks since boot), or, when the leader was already gone, the time of tracking as an upper bound.
type pgLeader struct {
	start uint64
	known bool
}

// reusedPG reports whether group g is no longer the one the test tracked: a process with pid g exists but is not
// the tracked leader. Without such a process any member still belongs to the tracked group, because Linux does
// not hand out a pid that is still some process's group id.
func (s *Server) reusedPG(g int) bool {
	_, st, _, ok := procStat(g)
	if !ok {
		return false
	}
	s.mu.Lock()
	l := s.pgLeader[g]
	s.mu.Unlock()
	if l.known {
		return st != l.start
	}
	return st > l.start
}

// uptimeTicks is the time since boot in the clock ticks (USER_HZ, 100 on Linux) of /proc/<pid>/stat start times.
func uptimeTicks() uint64 {
	b, _ := os.ReadFile("/proc/uptime")
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	sec, _ := strconv.ParseFloat(f[0], 64)
	return uint64(sec * 100)
}

// AllowSurvivor excludes a pid from the descendant check.
func (s *Server) AllowSurvivor(pid int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.survivors[pid] = true
}

// ---------------------------------------------------------------------------------------------------------------
// process helpers

// procStat returns state and start time of pid; ok false when the process does not exist.
func procStat(pid int) (state byte, start uint64, ppid int, ok bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return 0, 0, 0, false
	}
	f := strings.Fields(s[i+2:])
	// f[0] = state (field 3), f[1] = ppid (field 4), f[19] = starttime (field 22)
	if len(f) < 20 {
		return 0, 0, 0, false
	}
	pp, _ := strconv.Atoi(f[1])
	st, _ := strconv.ParseUint(f[19], 10, 64)
	return f[0][0], st, pp, true
}

// children lists the direct children of pid.
func children(pid int) []int {
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	var out []int
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		for _, f := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(f); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

func descendants(pid int) []int {
	var out []int
	seen := map[int]bool{}
	queue := children(pid)
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		out = append(out, p)
		queue = append(queue, children(p)...)
	}
	return out
}

func (s *Server) snapshotDescendants() {
	for _, p := range descendants(s.Pid()) {
		_, st, _, ok := procStat(p)
		if !ok {
			continue
		}
		s.mu.Lock()
		if _, known := s.desc[p]; !known {
			s.desc[p] = st
		}
		s.mu.Unlock()
	}
}

func (s *Server) walkDescendants() {
	defer close(s.walkDone)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-s.exited:
			return
		case <-s.stopWalk:
			return
		case <-tick.C:
			s.snapshotDescendants()
		}
	}
}

// pgAlive reports whether the process group still has members.
func pgAlive(pgid int) bool {
	err := syscall.Kill(-pgid, 0)
	return !errors.Is(err, syscall.ESRCH)
}

// pidAlive reports whether pid exists and is not a zombie.
func pidAlive(pid int) bool {
	st, _, _, ok := procStat(pid)
	return ok && st != 'Z'
}

// groupMembers lists live (non-zombie) processes of a process group.
func groupMembers(pgid int) []int {
	ents, _ := os.ReadDir("/proc")
	var out []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+2:])
		if len(f) < 3 || f[0] == "Z" {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); g == pgid {
			out = append(out, pid)
		}
	}
	return out
}

// pgGone reports whether the group has no live member: ESRCH, or only zombies left.
func pgGone(pgid int) bool {
	return !pgAlive(pgid) || len(groupMembers(pgid)) == 0
}

// waitFor polls cond every 20 ms until it is true or d elapsed.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
}

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

func (s *Server) cleanup() {
	t := s.t
	s.Stop(syscall.SIGTERM)
	close(s.stopWalk)
	<-s.walkDone

	// Process groups learnt by the test.
	s.mu.Lock()
	pgs := make([]int, 0, len(s.pgids))
	for g := range s.pgids {
		pgs = append(pgs, g)
	}
	desc := make(map[int]uint64, len(s.desc))
	for p, st := range s.desc {
		if !s.survivors[p] {
			desc[p] = st
		}
	}
	s.mu.Unlock()
	sort.Ints(pgs)
	deadline := time.Now().Add(10 * time.Second)
	for _, g := range pgs {
		if !waitFor(time.Until(deadline), func() bool { return pgGone(g) || s.reusedPG(g) }) {
			t.Errorf("leak: process group %d (%s) still has members %v after the server stopped", g, s.pgids[g], groupMembers(g))
			syscall.Kill(-g, syscall.SIGKILL)
		}
	}
	// Descendants of the server.
	var leaked []string
	for p, st := range desc {
		gone := func() bool {
			state, st2, _, ok := procStat(p)
			return !ok || st2 != st || state == 'Z'
		}
		if !waitFor(time.Until(deadline), gone) {
			cmdline, _ := os.ReadFile("/proc/" + strconv.Itoa(p) + "/cmdline")
			leaked = append(leaked, fmt.Sprintf("%d (%s)", p, strings.ReplaceAll(string(cmdline), "\x00", " ")))
			syscall.Kill(p, syscall.SIGKILL)
		}
	}
	if len(leaked) > 0 {
		sort.Strings(leaked)
		t.Errorf("leak: descendants of the server survived it: %s", strings.Join(leaked, ", "))
	}
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

// ---------------------------------------------------------------------------------------------------------------
// tool calls

// Result is a decoded tool result.
type Result struct {
	Text    string   // content[0].text
	Texts   []string // all text content items
	SC      map[string]any
	IsError bool
	Elapsed time.Duration
	Size    int // bytes of the JSON-RPC response line, when known (0 = unknown)
}

func (r *Result) String() string {
	sc, _ := json.Marshal(r.SC)
	return fmt.Sprintf("isError=%v text=%q structured=%s extra=%q", r.IsError, r.Text, sc, r.Texts[min(1, len(r.Texts)):])
}

// Str returns a string field of the structured content ("" when absent or not a string).
func (r *Result) Str(k string) string { v, _ := r.SC[k].(string); return v }

// Num returns a numeric field of the structured content.
func (r *Result) Num(k string) (float64, bool) { v, ok := r.SC[k].(float64); return v, ok }

// Int returns a numeric field as int, or -1<<31 when absent.
func (r *Result) Int(k string) int {
	v, ok := r.SC[k].(float64)
	if !ok {
		return -1 << 31
	}
	return int(v)
}

// Bool returns a boolean field.
func (r *Result) Bool(k string) (bool, bool) { v, ok := r.SC[k].(bool); return v, ok }

// IsNull reports whether k is present with value null.
func (r *Result) IsNull(k string) bool { v, ok := r.SC[k]; return ok && v == nil }

// Has reports whether k is present.
func (r *Result) Has(k string) bool { _, ok := r.SC[k]; return ok }

func decodeStructured(v any) map[string]any {
	if v == nil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var m map[string]any
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	return m
}

func kv(pairs ...any) map[string]any {
	if len(pairs)%2 != 0 {
		panic("kv: odd number of arguments")
	}
	m := map[string]any{}
	for i := 0; i < len(pairs); i += 2 {
		m[pairs[i].(string)] = pairs[i+1]
	}
	return m
}

// newResult converts an SDK tool result: its text contents (a placeholder for any other kind) and structured content.
func newResult(res *mcp.CallToolResult, elapsed time.Duration) *Result {
	r := &Result{IsError: res.IsError, Elapsed: elapsed}
	for _, c := range res.Content {
		if tc, ok := c.(*mcp.TextContent); ok {
			r.Texts = append(r.Texts, tc.Text)
		} else {
			r.Texts = append(r.Texts, fmt.Sprintf("<non-text content %T>", c))
		}
	}
	if len(r.Texts) > 0 {
		r.Text = r.Texts[0]
	}
	r.SC = decodeStructured(res.StructuredContent)
	return r
}

// CallCtx calls a tool with the SDK client.
func (s *Server) CallCtx(ctx context.Context, tool string, args map[string]any, progressToken any) (*Result, error) {
	params := &mcp.CallToolParams{Name: tool, Arguments: args}
	if progressToken != nil {
		params.SetProgressToken(progressToken)
	}
	start := time.Now()
	before := len(s.Messages())
	res, err := s.Sess.CallTool(ctx, params)
	if err != nil {
		return nil, err
	}
	r := newResult(res, time.Since(start))
	// The size of the response line, if exactly one response arrived meanwhile.
	var n, size int
	for _, m := range s.Messages()[before:] {
		if m.isResponse() {
			n++
			size = m.Size
		}
	}
	if n == 1 {
		r.Size = size
	}
	s.observe(tool, r)
	return r, nil
}

// Call calls a tool and fails the test on a protocol error. The call is bounded by 90 s.
func (s *Server) Call(tool string, args map[string]any) *Result {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	r, err := s.CallCtx(ctx, tool, args, nil)
	if err != nil {
		s.t.Fatalf("tools/call %s %v: %v", tool, args, err)
	}
	return r
}

// calls are the tool-call helpers that the stdio Server and the HTTP HClient share, built on the transport's own
// Call (which validates every result and fails the test on a protocol error).
type calls struct {
	t    testing.TB
	call func(tool string, args map[string]any) *Result
}

// Exec calls exec with command and extra key/value pairs.
func (c calls) Exec(command string, pairs ...any) *Result {
	c.t.Helper()
	args := kv(pairs...)
	args["command"] = command
	return c.call("exec", args)
}

// Proc calls process with action and extra key/value pairs.
func (c calls) Proc(action string, pairs ...any) *Result {
	c.t.Helper()
	args := kv(pairs...)
	args["action"] = action
	return c.call("process", args)
}

// observe validates a result against the tool's output schema and records process groups.
func (s *Server) observe(tool string, r *Result) {
	s.outSchemas.observe(s.t, s.Sess, s.TrackPG, tool, r)
}

// schemaCache holds the output schemas a client listed, resolved on first use.
type schemaCache struct {
	once    sync.Once
	schemas map[string]*jsonschema.Resolved
}

// observe validates a result against the tool's output schema (tools/list through sess, once) and records the
// process group of a running exec result with track.
func (c *schemaCache) observe(t testing.TB, sess *mcp.ClientSession, track func(int, string), tool string, r *Result) {
	if r.Str("status") == "running" && tool == "exec" {
		if pid := r.Int("pid"); pid > 1 {
			track(pid, "session "+r.Str("sessionId"))
		}
	}
	c.once.Do(func() { c.schemas = listSchemas(t, sess) })
	if rs := c.schemas[tool]; rs != nil {
		if r.SC == nil {
			t.Errorf("%s result without structuredContent: %s", tool, r)
		} else if err := rs.Validate(r.SC); err != nil {
			t.Errorf("%s result does not validate against its output schema: %v\nresult: %s", tool, err, r)
		}
	}
}

// listSchemas resolves the output schemas of the tools sess lists.
func listSchemas(t testing.TB, sess *mcp.ClientSession) map[string]*jsonschema.Resolved {
	m := map[string]*jsonschema.Resolved{}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	lt, err := sess.ListTools(ctx, nil)
	if err != nil {
		t.Errorf("tools/list: %v", err)
		return m
	}
	for _, tl := range lt.Tools {
		if tl.OutputSchema == nil {
			continue
		}
		rs, err := resolveSchema(tl.OutputSchema)
		if err != nil {
			t.Errorf("output schema of %s: %v", tl.Name, err)
			continue
		}
		m[tl.Name] = rs
	}
	return m
}

func resolveSchema(v any) (*jsonschema.Resolved, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var sc jsonschema.Schema
	if err := json.Unmarshal(b, &sc); err != nil {
		return nil, err
	}
	return sc.Resolve(nil)
}

// ---------------------------------------------------------------------------------------------------------------
// higher-level helpers

// Background starts command with background:true and returns the session id and pid.
func (c calls) Background(command string, pairs ...any) (string, int) {
	c.t.Helper()
	r := c.Exec(command, append(pairs, "background", true)...)
	return c.mustRunning(r, command)
}

func (c calls) mustRunning(r *Result, command string) (string, int) {
	c.t.Helper()
	if r.IsError || r.Str("status") != "running" {
		c.t.Fatalf("exec %q: want a running result, got %s", command, r)
	}
	id, pid := r.Str("sessionId"), r.Int("pid")
	if want := fmt.Sprintf(runningTextFmt, id, pid); !strings.HasPrefix(r.Text, want) {
		c.t.Errorf("running text = %q, want prefix %q", r.Text, want)
	}
	return id, pid
}

// ListEntry returns the list entry of id (nil when absent) and the list result.
func (c calls) ListEntry(id string) (map[string]any, *Result) {
	c.t.Helper()
	r := c.Proc("list")
	sessions, _ := r.SC["sessions"].([]any)
	for _, e := range sessions {
		m, _ := e.(map[string]any)
		if m["sessionId"] == id {
			return m, r
		}
	}
	return nil, r
}

// WaitFinished waits (with process list) until the session is finished and returns its list entry.
func (s *Server) WaitFinished(id string, d time.Duration) map[string]any {
	s.t.Helper()
	deadline := time.Now().Add(d)
	for {
		e, r := s.ListEntry(id)
		if e == nil {
			s.t.Fatalf("session %s is not listed; list: %s", id, r)
		}
		if e["status"] != "running" {
			return e
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("session %s did not finish within %v; entry %v", id, d, e)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// PollUntilDone polls (timeout 3000) until the session has finished; it returns all poll texts.
func (s *Server) PollUntilDone(id string, d time.Duration) ([]string, *Result) {
	s.t.Helper()
	deadline := time.Now().Add(d)
	var texts []string
	for {
		r := s.Proc("poll", "sessionId", id, "timeout", 3000)
		if r.IsError {
			s.t.Fatalf("poll %s: %s", id, r)
		}
		texts = append(texts, r.Text)
		if r.Str("status") != "running" {
			return texts, r
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("session %s still running after %v; polls %q", id, d, texts)
		}
	}
}

// ReadPgid waits for a file written by `echo $$ > name` in dir and tracks the group.
func (s *Server) ReadPgid(dir, name string) int {
	s.t.Helper()
	p := filepath.Join(dir, name)
	var pg int
	ok := waitFor(10*time.Second, func() bool {
		b, err := os.ReadFile(p)
		if err != nil {
			return false
		}
		n, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			return false
		}
		pg = n
		return true
	})
	if !ok {
		s.t.Fatalf("%s was not written within 10 s", p)
	}
	s.TrackPG(pg, name)
	return pg
}

// Notes returns the notifications with the given method seen so far.
func (s *Server) Notes(method string) []message {
	var out []message
	for _, m := range s.Messages() {
		if m.isNotification() && m.Method == method {
			out = append(out, m)
		}
	}
	return out
}

// ExitMessage is a decoded notifications/message of an exit event.
type ExitMessage struct {
	At     time.Time
	Level  string
	Logger string
	Data   map[string]any
}

func (e ExitMessage) Text() string { s, _ := e.Data["text"].(string); return s }

// ExitMessages returns the notifications/message whose data.sessionId is id ("" = all with logger exec).
func (s *Server) ExitMessages(id string) []ExitMessage {
	var out []ExitMessage
	for _, m := range s.Notes("notifications/message") {
		if e, ok := decodeExitMessage(m, id); ok {
			out = append(out, e)
		}
	}
	return out
}

// decodeExitMessage decodes a notifications/message; ok is false when it is not one of session id ("" = any).
func decodeExitMessage(m message, id string) (ExitMessage, bool) {
	var p struct {
		Level  string         `json:"level"`
		Logger string         `json:"logger"`
		Data   map[string]any `json:"data"`
	}
	if json.Unmarshal(m.Params, &p) != nil || id != "" && p.Data["sessionId"] != id {
		return ExitMessage{}, false
	}
	return ExitMessage{At: m.At, Level: p.Level, Logger: p.Logger, Data: p.Data}, true
}

// WaitExitMessages waits until at least n exit messages for id arrived (fewer on timeout).
func (s *Server) WaitExitMessages(id string, n int, d time.Duration) []ExitMessage {
	var msgs []ExitMessage
	awaitTap(d, func() <-chan struct{} { _, ch := s.tap.snapshot(); return ch }, func() bool {
		msgs = s.ExitMessages(id)
		return len(msgs) >= n
	})
	return msgs
}

// awaitTap evaluates cond, and again each time the tap records a message (changed returns the channel closed at
// the next one), until cond holds or d has passed.
func awaitTap(d time.Duration, changed func() <-chan struct{}, cond func() bool) {
	deadline := time.Now().Add(d)
	for {
		ch := changed()
		if cond() {
			return
		}
		left := time.Until(deadline)
		if left <= 0 {
			return
		}
		select {
		case <-ch:
		case <-time.After(left):
		}
	}
}

func id8(id string) string {
	if len(id) < 8 {
		return id
	}
	return id[:8]
}

// ---------------------------------------------------------------------------------------------------------------
// assertions

func wantText(t *testing.T, r *Result, want string) {
	t.Helper()
	if r.IsError {
		t.Errorf("unexpected isError result: %s", r)
		return
	}
	if r.Text != want {
		t.Errorf("text = %q\nwant   %q\n(result %s)", r.Text, want, r)
	}
}

func wantError(t *testing.T, r *Result, want string) {
	t.Helper()
	if !r.IsError {
		t.Errorf("want isError result %q, got %s", want, r)
		return
	}
	if r.Text != want {
		t.Errorf("error text = %q\nwant         %q", r.Text, want)
	}
}

// wantExecError checks an exec isError result and its details {"status":"error","tool":"exec","error":msg}.
func wantExecError(t *testing.T, r *Result, want string) {
	t.Helper()
	wantError(t, r, want)
	if r.Str("status") != "error" || r.Str("tool") != "exec" || r.Str("error") != want {
		t.Errorf("details = %v, want {status: error, tool: exec, error: %q}", r.SC, want)
	}
}

// wantProcError checks a process isError result and its details {"status":"failed","error":msg}.
func wantProcError(t *testing.T, r *Result, want string) {
	t.Helper()
	wantError(t, r, want)
	if r.Str("status") != "failed" || r.Str("error") != want {
		t.Errorf("details = %v, want {status: failed, error: %q}", r.SC, want)
	}
}

func wantStatus(t *testing.T, r *Result, status string) {
	t.Helper()
	if r.IsError || r.Str("status") != status {
		t.Errorf("want status %q (not isError), got %s", status, r)
	}
}

func wantExitCode(t *testing.T, r *Result, code int) {
	t.Helper()
	if got, ok := r.Num("exitCode"); !ok || int(got) != code {
		t.Errorf("exitCode = %v, want %d", r.SC["exitCode"], code)
	}
}

func within(t *testing.T, r *Result, d time.Duration, what string) {
	t.Helper()
	if r.Elapsed > d {
		t.Errorf("%s took %v, want within %v", what, r.Elapsed.Round(time.Millisecond), d)
	}
}

func listEmpty(t *testing.T, s *Server) {
	t.Helper()
	r := s.Proc("list")
	wantText(t, r, noSessionsText)
	if sessions, ok := r.SC["sessions"].([]any); !ok || len(sessions) != 0 {
		t.Errorf("list sessions = %v, want []", r.SC["sessions"])
	}
}

// ---------------------------------------------------------------------------------------------------------------
// raw JSON-RPC client

// RawClient writes JSON-RPC lines to the server's stdin and reads responses from the tap.
type RawClient struct {
	s      *Server
	mu     sync.Mutex
	nextID int
	done   chan struct{}
	once   sync.Once
}

func newRawClient(s *Server) *RawClient {
	c := &RawClient{s: s, done: make(chan struct{})}
	go func() {
		// Drive the tap; it records every line.
		r := bufio.NewReaderSize(s.tap, 1<<20)
		buf := make([]byte, 1<<16)
		for {
			if _, err := r.Read(buf); err != nil {
				return
			}
		}
	}()
	return c
}

func (c *RawClient) close() { c.once.Do(func() { close(c.done) }) }

// Raw returns the raw client of a server started with Options.Raw.
func (s *Server) Raw() *RawClient {
	if s.raw == nil {
		s.t.Fatal("server was not started with Options.Raw")
	}
	return s.raw
}

// Send writes one line (a JSON value marshalled, or a string/[]byte verbatim).
func (c *RawClient) Send(v any) {
	var b []byte
	switch x := v.(type) {
	case string:
		b = []byte(x)
	case []byte:
		b = x
	default:
		var err error
		b, err = json.Marshal(v)
		if err != nil {
			c.s.t.Fatal(err)
		}
	}
	b = append(bytes.TrimRight(b, "\n"), '\n')
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, err := c.s.stdinW.Write(b); err != nil {
		c.s.t.Fatalf("writing to server stdin: %v", err)
	}
}

// Request sends a request and waits (30 s) for its response.
func (c *RawClient) Request(method string, params any) message {
	c.s.t.Helper()
	c.mu.Lock()
	c.nextID++
	id := c.nextID
	c.mu.Unlock()
	req := map[string]any{"jsonrpc": "2.0", "id": id, "method": method}
	if params != nil {
		req["params"] = params
	}
	c.Send(req)
	return c.WaitResponse(strconv.Itoa(id), 30*time.Second)
}

// WaitResponse waits for the response with the given raw id.
func (c *RawClient) WaitResponse(id string, d time.Duration) message {
	c.s.t.Helper()
	deadline := time.Now().Add(d)
	for {
		msgs, ch := c.s.tap.snapshot()
		for _, m := range msgs {
			if m.isResponse() && m.ID == id {
				return m
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			c.s.t.Fatalf("no response to request %s within %v\nstderr:\n%s", id, d, c.s.Stderr())
		}
		select {
		case <-ch:
		case <-time.After(left):
		case <-c.s.exited:
			c.s.t.Fatalf("server exited while waiting for response %s\nstderr:\n%s", id, c.s.Stderr())
		}
	}
}

// Initialize performs initialize + notifications/initialized with the given protocol version.
func (c *RawClient) Initialize(version string) map[string]any {
	c.s.t.Helper()
	m := c.Request("initialize", map[string]any{
		"protocolVersion": version,
		"capabilities":    map[string]any{},
		"clientInfo":      map[string]any{"name": "raw-test", "version": "1"},
	})
	if len(m.Error) > 0 {
		c.s.t.Fatalf("initialize failed: %s", m.Error)
	}
	var res map[string]any
	if err := json.Unmarshal(m.Result, &res); err != nil {
		c.s.t.Fatalf("initialize result: %v", err)
	}
	c.Send(map[string]any{"jsonrpc": "2.0", "method": "notifications/initialized"})
	return res
}

// CallTool sends tools/call with raw arguments (any JSON value, or json.RawMessage).
func (c *RawClient) CallTool(name string, args any) (*Result, message) {
	c.s.t.Helper()
	params := map[string]any{"name": name}
	if args != nil {
		params["arguments"] = args
	}
	start := time.Now()
	m := c.Request("tools/call", params)
	if len(m.Error) > 0 {
		return nil, m
	}
	var res struct {
		Content []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		} `json:"content"`
		StructuredContent map[string]any `json:"structuredContent"`
		IsError           bool           `json:"isError"`
	}
	if err := json.Unmarshal(m.Result, &res); err != nil {
		c.s.t.Fatalf("tools/call result: %v", err)
	}
	r := &Result{IsError: res.IsError, SC: res.StructuredContent, Elapsed: time.Since(start), Size: m.Size}
	for _, ct := range res.Content {
		r.Texts = append(r.Texts, ct.Text)
	}
	if len(r.Texts) > 0 {
		r.Text = r.Texts[0]
	}
	return r, m
}

func itoa(n int) string { return strconv.Itoa(n) }

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
