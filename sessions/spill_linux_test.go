package sessions

import (
	"bytes"
	"errors"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/execmcp/execmcp/output"
)

// residentPages counts the pages of f's range [off, off+n) that are in the page cache.
func residentPages(t *testing.T, f *os.File, off, n int64) int {
	t.Helper()
	m, err := unix.Mmap(int(f.Fd()), off, int(n), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	vec := make([]byte, (int(n)+os.Getpagesize()-1)/os.Getpagesize())
	if _, _, e := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)),
		uintptr(unsafe.Pointer(&vec[0]))); e != 0 {
		t.Fatal(e)
	}
	k := 0
	for _, v := range vec {
		k += int(v & 1)
	}
	return k
}

// spillingSession is a backgrounded session without a process whose chunks go straight to appendOutput, spilling
// into a directory of the test.
func spillingSession(t *testing.T) *Session {
	r, _ := spillRegistry(t, Options{})
	s := &Session{r: r, id: "cache-test", scope: "test", spillable: true, backgrounded: true,
		buf: output.NewBuffer(r.opts.MaxOutputChars, r.opts.PendingMaxChars), changed: make(chan struct{})}
	t.Cleanup(func() { s.closeSpill(); s.dropLog() })
	return s
}

// A spill file keeps about spillLag windows of page cache behind the one being written: the rest was written back
// and dropped, so a GiB of output does not push a GiB of other programs' data out of the cache. Its contents are
// all there.
func TestSpillWriteBehind(t *testing.T) {
	s := spillingSession(t)
	var st unix.Statfs_t
	if err := unix.Statfs(s.r.opts.Log.Dir[:len(s.r.opts.Log.Dir)-len("/logs")], &st); err != nil {
		t.Fatal(err)
	}
	if st.Type == unix.TMPFS_MAGIC {
		t.Skip("the temporary directory is a tmpfs, whose pages are the file and cannot be dropped")
	}
	chunk := bytes.Repeat([]byte("a line of output\n"), 1900)
	const total = 12 * spillWindow
	for n := 0; n < total; n += len(chunk) {
		s.appendOutput(output.Stdout, chunk, len(chunk), nil)
		s.settleSpill()
	}
	in := s.Info()
	if !in.Log.Spilled || in.Log.Cause != StopNone {
		t.Fatalf("log %+v", in.Log)
	}
	f, err := os.Open(in.Log.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	behind := (total/spillWindow - spillLag - 1) * spillWindow // windows that must have been dropped
	page := int64(os.Getpagesize())
	if k := residentPages(t, f, 0, int64(behind)); k > behind/int(page)/100 {
		t.Errorf("%d of the first %d pages still cached, want none", k, int64(behind)/page)
	}
	data, err := os.ReadFile(in.Log.Path)
	if err != nil || int64(len(data)) != in.Log.Bytes || !bytes.Equal(data[:len(chunk)], chunk) ||
		bytes.Count(data, []byte("a line of output\n")) != len(data)/17 {
		t.Errorf("file of %d bytes (log %d) is not the output: %v", len(data), in.Log.Bytes, err)
	}
}

// An I/O error of the writeback a spill file waited for stops the file like a failed write; the session and its
// retained output go on.
func TestSpillWritebackError(t *testing.T) {
	saved := dropSpillCache
	dropSpillCache = func(f *os.File, _, _ int64) error {
		return &os.PathError{Op: "write", Path: f.Name(), Err: syscall.EIO}
	}
	t.Cleanup(func() { dropSpillCache = saved })
	s := spillingSession(t)
	chunk := bytes.Repeat([]byte("a"), 32<<10)
	for n := 0; n < (spillLag+3)*spillWindow; n += len(chunk) {
		s.appendOutput(output.Stdout, chunk, len(chunk), nil)
		s.settleSpill()
	}
	in := s.Info()
	if in.Log.Cause != StopError || !errors.Is(in.Log.Err, syscall.EIO) {
		t.Fatalf("log %+v", in.Log)
	}
	if want := int64((spillLag + 1) * spillWindow); in.Log.Bytes != want {
		t.Errorf("file stopped at %d bytes, want %d (the write whose writeback failed is kept)", in.Log.Bytes, want)
	}
	if in.TotalChars != (spillLag+3)*spillWindow {
		t.Errorf("retained output counted %d chars", in.TotalChars)
	}
}

// A reader waiting for its spill file's writeback does not hold the ingest semaphore: with one ingest slot,
// another session's output is recorded meanwhile.
func TestSpillWritebackWaitLeavesIngest(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	saved := dropSpillCache
	dropSpillCache = func(f *os.File, off, n int64) error {
		once.Do(func() { close(entered) })
		<-release
		return saved(f, off, n)
	}
	t.Cleanup(func() { dropSpillCache = saved })
	r, _ := spillRegistry(t, Options{IngestWorkers: 1})
	a, _, err := r.Start(spillSpec("head -c 100000000 /dev/zero | tr '\\0' a"))
	if err != nil {
		t.Fatal(err)
	}
	defer close(release)
	select {
	case <-entered:
	case <-time.After(time.Minute):
		t.Fatal("the spill file never waited for a writeback")
	}
	b, _, err := r.Start(shSpec("echo other session"))
	if err != nil {
		t.Fatal(err)
	}
	if in := waitDone(t, b, 30*time.Second); in.Aggregated != "other session\n" {
		t.Errorf("other session recorded %q while the spill waited", in.Aggregated)
	}
	if a.Info().Status != "running" {
		t.Errorf("spilling session %s", a.Info().Status)
	}
}
