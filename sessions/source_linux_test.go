package sessions

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/execmcp/execmcp/output"
)

// A reader stopped before it ever ran (the drain grace ended while the scheduler starved it) still records what
// the pipes hold: the output of a command that exited is never dropped for being read late.
func TestStoppedReaderDrainsPipes(t *testing.T) {
	r := New(Options{})
	s := &Session{r: r, id: "late", buf: output.NewBuffer(0, 0), changed: make(chan struct{})}
	var fds [2]int
	var writers [2]int
	for i, text := range []string{"hello\n", "oops\n"} {
		rd, wr, err := rawPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := unix.SetNonblock(rd, true); err != nil {
			t.Fatal(err)
		}
		if _, err := unix.Write(wr, []byte(text)); err != nil {
			t.Fatal(err)
		}
		fds[i], writers[i] = rd, wr
	}
	// stderr's writer stays open, like a descendant that holds the pipe.
	unix.Close(writers[0])
	defer unix.Close(writers[1])
	ready, err := newReadySet(r.readerOpts(), fds[0], fds[1])
	if err != nil {
		t.Fatal(err)
	}
	p := &pipeSource{fds: fds, ready: ready}
	p.stop()
	p.run(s)
	p.close()
	if got := s.buf.Aggregated(); got != "hello\noops\n" {
		t.Errorf("recorded %q, want both pipes' contents", got)
	}
}

// The same for a terminal: what the PTY holds when the reader is stopped is recorded.
func TestStoppedPTYReaderDrains(t *testing.T) {
	r := New(Options{})
	s := &Session{r: r, id: "late", pty: true, buf: output.NewBuffer(0, 0), changed: make(chan struct{})}
	master, slave, err := openPTY()
	if err != nil {
		t.Skipf("no PTY here: %v", err)
	}
	defer slave.Close()
	if _, err := slave.Write([]byte("prompt> ")); err != nil {
		t.Fatal(err)
	}
	p := newPTYSource(master)
	p.stop()
	p.run(s)
	p.close()
	if got := s.buf.Aggregated(); got != "prompt> " {
		t.Errorf("recorded %q, want the terminal's contents", got)
	}
}
