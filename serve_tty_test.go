// Tests of what stdio serving writes to stderr: one hint line for a person whose stdin is a terminal, and nothing
// at all in a default run whose stdin is an MCP client's pipe (docs/reference.md#stdio).

package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// quietEnviron is a minimal environment without any EXECMCP_ variable, so the defaults apply.
func quietEnviron(t *testing.T, extra ...string) []string {
	t.Helper()
	return append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "SHELL=/bin/bash"}, extra...)
}

// waitFor polls cond every 20 ms until it holds or 10 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitExit(t *testing.T, exited <-chan int, stderr *syncBuffer) {
	t.Helper()
	select {
	case code := <-exited:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit 10 s after the end of stdin")
	}
}

// A person who starts the server at a terminal gets one line on stderr saying what it is and how to try it; the
// server still speaks MCP on that terminal, and Ctrl-D (end of file) shuts it down without another word.
func TestTerminalHint(t *testing.T) {
	ptm, pts, err := pty.Open()
	if err != nil {
		t.Fatalf("pty.Open: %v", err)
	}
	// The terminal echoes what is typed to the master side: drain it so that the echo never blocks.
	var drain sync.WaitGroup
	drain.Go(func() { _, _ = io.Copy(io.Discard, ptm) })

	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	exited := make(chan int, 1)
	var server sync.WaitGroup
	server.Go(func() { exited <- realMain(nil, quietEnviron(t), pts, stdout, stderr) })
	// Blocking reads end only with their data: Close waits for them. So the server is ended with an end of file
	// first (a no-op when it has exited), then the slave is closed, which makes the master read EIO.
	defer func() {
		_, _ = ptm.Write([]byte("\n\x04"))
		server.Wait()
		pts.Close()
		drain.Wait()
		ptm.Close()
	}()
	if !isTerminal(pts) {
		t.Fatal("isTerminal(pty slave) = false")
	}

	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(terminalHint, self)
	waitFor(t, "the hint line", func() bool { return strings.Contains(withoutCgroupsLine(stderr.String()), "\n") })
	if got := withoutCgroupsLine(stderr.String()); got != want {
		t.Errorf("stderr = %q, want %q", got, want)
	}
	for _, part := range []string{"MCP", "stdin/stdout", "npx -y @modelcontextprotocol/inspector --cli " + self,
		"--method tools/list", "Ctrl-D"} {
		if !strings.Contains(want, part) {
			t.Errorf("hint %q lacks %q", want, part)
		}
	}

	// Typed by hand, a JSON-RPC request is answered on stdout.
	if _, err := ptm.Write([]byte(`{"jsonrpc":"2.0","id":7,"method":"ping"}` + "\n")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the ping response", func() bool { return strings.Contains(stdout.String(), `"id":7`) })
	if got := stdout.String(); !strings.Contains(got, `"result":{}`) {
		t.Errorf("stdout = %q, want the ping result", got)
	}

	if _, err := ptm.Write([]byte{4}); err != nil { // Ctrl-D on an empty line: end of file
		t.Fatal(err)
	}
	waitExit(t, exited, stderr)
	if got := withoutCgroupsLine(stderr.String()); got != want {
		t.Errorf("stderr after shutdown = %q, want only the hint %q", got, want)
	}
}

// A default run with a pipe as stdin (how every MCP client starts the server) writes nothing to stderr, the
// orderly end of stdin included; EXECMCP_LOG_LEVEL=debug shows that end.
func TestStdioQuietByDefault(t *testing.T) {
	for _, tc := range []struct {
		name    string
		environ []string
		want    string // "" = stderr must be empty
	}{
		{"default", nil, ""},
		{"debug", []string{"EXECMCP_LOG_LEVEL=debug"}, `level=DEBUG msg="stdin closed; shutting down"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, w, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if isTerminal(r) {
				t.Fatal("isTerminal(pipe) = true")
			}
			stdout, stderr := &syncBuffer{}, &syncBuffer{}
			exited := make(chan int, 1)
			go func() { exited <- realMain(nil, quietEnviron(t, tc.environ...), r, stdout, stderr) }()
			if _, err := w.Write([]byte(`{"jsonrpc":"2.0","id":1,"method":"ping"}` + "\n")); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the ping response", func() bool { return strings.Contains(stdout.String(), `"id":1`) })
			w.Close()
			waitExit(t, exited, stderr)
			got := withoutCgroupsLine(stderr.String())
			if tc.want == "" && got != "" {
				t.Errorf("stderr = %q, want nothing", got)
			}
			if tc.want != "" && !strings.Contains(got, tc.want) {
				t.Errorf("stderr = %q, want it to contain %q", got, tc.want)
			}
			if strings.Contains(got, "execmcp: serving MCP") {
				t.Errorf("the terminal hint was printed for a pipe: %q", got)
			}
		})
	}
}
