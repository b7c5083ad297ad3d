// Tests of stdio serving and the stats line.

package main

import (
	"bytes"
	"io"
	"os"
	"regexp"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a goroutine-safe stderr for realMain.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// The stats line appears every interval while the server runs, and its goroutine stops with the server.
func TestStatsLog(t *testing.T) {
	stderr := &syncBuffer{}
	var stdout bytes.Buffer
	stdinR, stdinW := io.Pipe()
	exited := make(chan int, 1)
	environ := append(os.Environ(), "EXECMCP_STATS_INTERVAL_MS=1000")
	go func() { exited <- realMain(nil, environ, stdinR, &stdout, stderr) }()
	re := regexp.MustCompile(`level=INFO msg=stats goroutines=\d+ heapInuseBytes=\d+ sysBytes=\d+ fds=\d+\n`)
	for deadline := time.Now().Add(10 * time.Second); len(re.FindAllString(stderr.String(), -1)) < 2; {
		if time.Now().After(deadline) {
			t.Fatalf("fewer than two stats lines after 10 s: %q", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	stdinW.Close()
	select {
	case code := <-exited:
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no exit after stdin EOF")
	}
}
