package sessions

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/execmcp/execmcp/output"
)

// spillRegistry is a registry that spills to a fresh directory once a session passes 1000 retained chars.
func spillRegistry(t *testing.T, opts Options) (*Registry, string) {
	t.Helper()
	base := filepath.Join(t.TempDir(), "logs")
	opts.MaxOutputChars = 1000
	opts.PendingMaxChars = 1000
	if opts.Log.MaxBytes == 0 {
		opts.Log.MaxBytes = 1 << 30
	}
	if opts.Log.TotalMaxBytes == 0 {
		opts.Log.TotalMaxBytes = 8 << 30
	}
	opts.Log.Dir = base
	if opts.KillGrace == 0 {
		opts.KillGrace = time.Second
	}
	return newTestRegistry(t, opts), filepath.Join(base, strconv.Itoa(os.Getpid()))
}

func spillSpec(cmd string) Spec {
	spec := shSpec(cmd)
	spec.Spill = true
	spec.Background = true
	return spec
}

// seqText is the output of seq 1 n.
func seqText(n int) string {
	var sb strings.Builder
	for i := 1; i <= n; i++ {
		sb.WriteString(strconv.Itoa(i))
		sb.WriteByte('\n')
	}
	return sb.String()
}

// readLog returns the info and a page of the session's log view.
func readLog(t *testing.T, r *Registry, id string, offset, limit *int) (Info, output.Page) {
	t.Helper()
	var info Info
	var pg output.Page
	err := r.ReadLog("test", id, func(in Info, v *output.LogView) error {
		info = in
		var err error
		pg, err = v.Slice(offset, limit, output.TextBudget)
		return err
	})
	if err != nil {
		t.Fatalf("ReadLog: %v", err)
	}
	return info, pg
}

func ip(n int) *int { return &n }

func TestSpillCompleteOutput(t *testing.T) {
	r, dir := spillRegistry(t, Options{})
	s, _, err := r.Start(spillSpec("seq 1 100000"))
	if err != nil {
		t.Fatal(err)
	}
	in := waitDone(t, s, 30*time.Second)
	if !in.Log.Spilled || in.Log.Cause != StopNone || in.Log.Path != filepath.Join(dir, s.ID()+".log") {
		t.Fatalf("log info %+v", in.Log)
	}
	data, err := os.ReadFile(in.Log.Path)
	if err != nil || string(data) != seqText(100000) || in.Log.Bytes != int64(len(data)) {
		t.Fatalf("file: %d bytes (info %d), %v; equal to seq: %v", len(data), in.Log.Bytes, err, string(data) == seqText(100000))
	}
	for path, want := range map[string]os.FileMode{in.Log.Path: 0o600, dir: 0o700 | os.ModeDir, filepath.Dir(dir): 0o700 | os.ModeDir} {
		if fi, err := os.Stat(path); err != nil || fi.Mode() != want {
			t.Errorf("%s: mode %v, %v; want %v", path, fi.Mode(), err, want)
		}
	}
	_, pg := readLog(t, r, s.ID(), ip(0), ip(3))
	if pg.Text != "1\n2\n3" || pg.TotalLines != 100000 || pg.TotalChars != len(data) {
		t.Errorf("page %+v", pg.LogSlice)
	}
	_, pg = readLog(t, r, s.ID(), nil, nil)
	if !strings.HasPrefix(pg.Text, "99801\n") || !strings.HasSuffix(pg.Text, "\n100000") || pg.Start != 99800 {
		t.Errorf("tail page %d..%d", pg.Start, pg.End)
	}
	err = r.ReadLog("test", s.ID(), func(_ Info, v *output.LogView) error {
		f, err := v.Search(regexp.MustCompile(`^77777$`), 0, 100, 100000, 2000)
		if err != nil || f.Count != 1 || len(f.Matches) != 1 || f.Matches[0] != (output.Match{Line: 77776, Text: "77777"}) {
			t.Errorf("search: %+v, %v", f, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.ReadLog("other", s.ID(), func(Info, *output.LogView) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("another scope: %v", err)
	}

	// Small output: no file, and the log is the retained text.
	small, _, err := r.Start(spillSpec("seq 1 10"))
	if err != nil {
		t.Fatal(err)
	}
	if in := waitDone(t, small, 10*time.Second); in.Log != (LogInfo{}) {
		t.Errorf("small session log info %+v", in.Log)
	}
	if _, pg := readLog(t, r, small.ID(), nil, nil); pg.TotalLines != 10 {
		t.Errorf("small session: %d lines", pg.TotalLines)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%d files in the log directory, want 1", len(ents))
	}

	// The files go with their records, the directory with the registry.
	if _, err := r.Clear("test", s.ID()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(in.Log.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file after clear: %v", err)
	}
	if n := r.logTotal.Load(); n != 0 {
		t.Errorf("total after clear: %d", n)
	}
	if err := r.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("log directory after Close: %v", err)
	}
}

func TestSpillCaps(t *testing.T) {
	t.Run("per session", func(t *testing.T) {
		r, _ := spillRegistry(t, Options{Log: LogOptions{MaxBytes: 100000}})
		s, _, err := r.Start(spillSpec("seq 1 1000000"))
		if err != nil {
			t.Fatal(err)
		}
		in := waitDone(t, s, 60*time.Second)
		if in.Status != "completed" || in.Log.Cause != StopSessionCap || in.Log.Bytes > 100000 || in.Log.Bytes < 90000 {
			t.Fatalf("status %s, log %+v", in.Status, in.Log)
		}
		data, err := os.ReadFile(in.Log.Path)
		if err != nil || int64(len(data)) != in.Log.Bytes || !strings.HasPrefix(seqText(1000000), string(data)) {
			t.Fatalf("file of %d bytes is not the head of the output: %v", len(data), err)
		}
		// The stopped file is followed by the retained tail; the lines in between are lost.
		info, pg := readLog(t, r, s.ID(), nil, ip(2))
		if pg.Text != "999999\n1000000" || pg.TotalLines != 1000000 || !strings.HasSuffix(info.Aggregated, "\n1000000\n") {
			t.Errorf("tail %+v", pg)
		}
		_, pg = readLog(t, r, s.ID(), ip(0), ip(2))
		if pg.Text != "1\n2" {
			t.Errorf("head %q", pg.Text)
		}
		// The cap cut the file after a whole line.
		fileLines := bytes.Count(data, []byte("\n"))
		if !bytes.HasSuffix(data, []byte("\n"+strconv.Itoa(fileLines)+"\n")) {
			t.Errorf("the file ends with %q", data[len(data)-20:])
		}
		_, pg = readLog(t, r, s.ID(), ip(fileLines-1), ip(3))
		if pg.LostStart != fileLines || pg.LostEnd != fileLines+2 || pg.Text != strconv.Itoa(fileLines) || pg.Lines != 1 {
			t.Errorf("page across the lost lines %+v", pg)
		}
	})
	t.Run("server", func(t *testing.T) {
		r, _ := spillRegistry(t, Options{Log: LogOptions{MaxBytes: 100000, TotalMaxBytes: 150000}})
		a, _, err := r.Start(spillSpec("seq 1 100000"))
		if err != nil {
			t.Fatal(err)
		}
		ia := waitDone(t, a, 30*time.Second)
		b, _, err := r.Start(spillSpec("seq 1 100000"))
		if err != nil {
			t.Fatal(err)
		}
		ib := waitDone(t, b, 30*time.Second)
		if ia.Log.Cause != StopSessionCap || ib.Log.Cause != StopServerCap || ia.Log.Bytes+ib.Log.Bytes > 150000 ||
			ib.Log.Bytes < 40000 {
			t.Fatalf("a %+v, b %+v", ia.Log, ib.Log)
		}
		if got := r.logTotal.Load(); got != ia.Log.Bytes+ib.Log.Bytes {
			t.Errorf("total %d, files %d + %d", got, ia.Log.Bytes, ib.Log.Bytes)
		}
		// Removing a record gives its bytes back.
		if _, _, err := r.Remove("test", a.ID()); err != nil {
			t.Fatal(err)
		}
		if got := r.logTotal.Load(); got != ib.Log.Bytes {
			t.Errorf("total after remove %d, want %d", got, ib.Log.Bytes)
		}
	})
}

// A session that ends in the foreground leaves no file; nor does one removed while it runs.
func TestSpillGoesWithTheRecord(t *testing.T) {
	now := time.Unix(1000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	r, dir := spillRegistry(t, Options{Now: clock, TTL: time.Minute, SweepInterval: time.Hour, MaxFinished: 2})

	fg := shSpec("seq 1 10000")
	fg.Spill = true
	s, _, err := r.Start(fg)
	if err != nil {
		t.Fatal(err)
	}
	if in := waitDone(t, s, 10*time.Second); !in.Log.Spilled {
		t.Fatal("no spill")
	}
	if _, err := os.Stat(s.Info().Log.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("foreground session's file: %v", err)
	}

	running, _, err := r.Start(spillSpec("seq 1 10000; exec sleep 60"))
	if err != nil {
		t.Fatal(err)
	}
	waitOutput(t, running, "10000", 10*time.Second)
	if _, _, err := r.Remove("test", running.ID()); err != nil {
		t.Fatal(err)
	}
	waitDone(t, running, 10*time.Second)
	if _, err := os.Stat(running.Info().Log.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("removed session's file: %v", err)
	}

	// Three records with files: the cap of 2 evicts the oldest, the TTL sweep the others.
	var paths []string
	for i := range 3 {
		s, _, err := r.Start(spillSpec("seq 1 10000"))
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, waitDone(t, s, 10*time.Second).Log.Path)
		mu.Lock()
		now = now.Add(time.Second)
		mu.Unlock()
		_ = i
	}
	if _, err := os.Stat(paths[0]); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("evicted record's file: %v", err)
	}
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	r.sweepOnce()
	for _, p := range paths[1:] {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("expired record's file: %v", err)
		}
	}
	// Orphan cleanup deletes the scope's records with their files.
	orphan, _, err := r.Start(spillSpec("seq 1 10000"))
	if err != nil {
		t.Fatal(err)
	}
	path := waitDone(t, orphan, 10*time.Second).Log.Path
	r.Orphan("test")
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("orphaned record's file: %v", err)
	}
	if ents, err := os.ReadDir(dir); err != nil || len(ents) != 0 {
		t.Errorf("log directory holds %d entries, %v", len(ents), err)
	}
	if n := r.logTotal.Load(); n != 0 {
		t.Errorf("total %d after every record went", n)
	}
}

// A write error (here a disk that fills up after 50000 bytes) stops the file with the error and changes nothing
// else.
func TestSpillWriteError(t *testing.T) {
	saved := writeSpill
	var written atomic.Int64
	writeSpill = func(f *os.File, p []byte) (int, error) {
		room := 50000 - written.Load()
		if int64(len(p)) <= room {
			written.Add(int64(len(p)))
			return f.Write(p)
		}
		n, _ := f.Write(p[:room])
		written.Add(int64(n))
		return n, syscall.ENOSPC
	}
	t.Cleanup(func() { writeSpill = saved })
	r, _ := spillRegistry(t, Options{})
	s, _, err := r.Start(spillSpec("seq 1 100000"))
	if err != nil {
		t.Fatal(err)
	}
	in := waitDone(t, s, 30*time.Second)
	if in.Log.Cause != StopError || !errors.Is(in.Log.Err, syscall.ENOSPC) || in.Log.Bytes != 50000 || in.Status != "completed" {
		t.Fatalf("log %+v, status %s", in.Log, in.Status)
	}
	if !strings.HasSuffix(in.Aggregated, "\n100000\n") || in.TotalChars != len(seqText(100000)) {
		t.Errorf("memory path changed: %d chars", in.TotalChars)
	}
	if data, err := os.ReadFile(in.Log.Path); err != nil || string(data) != seqText(100000)[:50000] {
		t.Errorf("file of %d bytes is not the head of the output: %v", len(data), err)
	}
	_, pg := readLog(t, r, s.ID(), nil, ip(1))
	if pg.Text != "100000" || pg.TotalLines != 100000 {
		t.Errorf("tail %+v", pg)
	}
}

// The write path allocates nothing per chunk once a session spills, as the read path (output's
// TestReadPathAllocationFree).
func TestSpillWriteAllocationFree(t *testing.T) {
	r, _ := spillRegistry(t, Options{})
	s := &Session{r: r, id: "alloc-test", scope: "test", spillable: true, backgrounded: true,
		buf: output.NewBuffer(r.opts.MaxOutputChars, r.opts.PendingMaxChars), changed: make(chan struct{})}
	t.Cleanup(func() { s.closeSpill(); s.dropLog() })
	for _, chunk := range [][]byte{bytes.Repeat([]byte("a line of output\n"), 1900), bytes.Repeat([]byte("a"), 32<<10)} {
		for range 10 {
			s.appendOutput(output.Stdout, chunk, len(chunk), nil)
		}
		if s.Info().Log.Cause != StopNone || !s.Info().Log.Spilled {
			t.Fatalf("log %+v", s.Info().Log)
		}
		// Marks are appended once per 64 KiB: amortised, that is less than one allocation per chunk.
		if n := testing.AllocsPerRun(200, func() { s.appendOutput(output.Stdout, chunk, len(chunk), nil) }); n != 0 {
			t.Errorf("%v allocations per chunk of %d bytes", n, len(chunk))
		}
	}
}

// Pages and searches while the writer appends see a consistent file (run with -race).
func TestSpillReadWhileWriting(t *testing.T) {
	r, _ := spillRegistry(t, Options{})
	s, _, err := r.Start(spillSpec("seq 1 300000"))
	if err != nil {
		t.Fatal(err)
	}
	var pages atomic.Int32
	for !s.Info().Log.Spilled {
		time.Sleep(time.Millisecond)
	}
	for {
		select {
		case <-s.Done():
			if pages.Load() == 0 {
				t.Error("no page read while writing")
			}
			return
		default:
		}
		err := r.ReadLog("test", s.ID(), func(_ Info, v *output.LogView) error {
			n := v.TotalLines()
			if n == 0 {
				return errors.New("a spilled session's log has no lines")
			}
			pg, err := v.Slice(ip(max(n-5, 0)), nil, output.TextBudget)
			if err != nil {
				return err
			}
			// The last line may be incomplete while the command runs.
			want := seqLines(max(n-5, 0)+1, n)
			if !strings.HasPrefix(want, pg.Text) || len(pg.Text) <= strings.LastIndexByte(want, '\n')+1 {
				return fmt.Errorf("page of %d lines: %q, want %q", n, pg.Text, want)
			}
			pages.Add(1)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
}

// seqLines is seq from to, joined by LF without a final one.
func seqLines(from, to int) string {
	var parts []string
	for i := from; i <= to; i++ {
		parts = append(parts, strconv.Itoa(i))
	}
	return strings.Join(parts, "\n")
}

func TestRemoveStaleLogDirs(t *testing.T) {
	base := t.TempDir()
	if err := os.Chmod(base, 0o700); err != nil {
		t.Fatal(err)
	}
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{ // name -> removed
		strconv.Itoa(dead.Process.Pid): true,
		strconv.Itoa(os.Getpid()):      true, // no registry of this process used it yet
		strconv.Itoa(os.Getppid()):     false,
		"1":                            false,
		"notapid":                      false,
		"0042":                         false,
	}
	for n := range names {
		if err := os.MkdirAll(filepath.Join(base, n, "sub"), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	removed, err := RemoveStaleLogDirs(base)
	if err != nil || len(removed) != 2 {
		t.Errorf("removed %v, %v", removed, err)
	}
	for n, gone := range names {
		if _, err := os.Stat(filepath.Join(base, n)); errors.Is(err, os.ErrNotExist) != gone {
			t.Errorf("%s: removed %v, want %v", n, !gone, gone)
		}
	}
	if removed, err := RemoveStaleLogDirs(filepath.Join(base, "missing")); err != nil || removed != nil {
		t.Errorf("missing directory: %v %v", removed, err)
	}
	if err := os.Chmod(base, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := RemoveStaleLogDirs(base); err == nil {
		t.Error("a directory others may write to is cleaned up")
	}
}

// Concurrent floods read in flood buffers (shared by the readers that hold the ingest semaphore) still record
// every byte of each session in order, and leave at most one buffer per ingest slot behind for reuse. The
// stream mixes plain lines, UTF-8 split anywhere by reads and escape sequences.
func TestFloodReadsKeepEveryByte(t *testing.T) {
	r, _ := spillRegistry(t, Options{IngestWorkers: 2})
	const cmd = `awk 'BEGIN { for (i = 1; i <= 400000; i++) printf "%d é€ \033[1mbold\033[0m\t%s\n", i, (i % 7 ? "x" : "yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy") }'`
	var want strings.Builder
	for i := 1; i <= 400000; i++ {
		y := "x"
		if i%7 == 0 {
			y = strings.Repeat("y", 32)
		}
		fmt.Fprintf(&want, "%d é€ bold\t%s\n", i, y)
	}
	var ss []*Session
	for range 3 {
		s, _, err := r.Start(spillSpec(cmd))
		if err != nil {
			t.Fatal(err)
		}
		ss = append(ss, s)
	}
	for _, s := range ss {
		in := waitDone(t, s, 2*time.Minute)
		if in.Log.Cause != StopNone || in.Log.Bytes != int64(want.Len()) {
			t.Fatalf("log %+v, want %d bytes", in.Log, want.Len())
		}
		data, err := os.ReadFile(in.Log.Path)
		if err != nil || string(data) != want.String() {
			t.Fatalf("file of %d bytes differs from the output (%d bytes): %v", len(data), want.Len(), err)
		}
		if in.TotalChars != utf8.RuneCountInString(want.String()) {
			t.Errorf("%d chars counted, want %d", in.TotalChars, utf8.RuneCountInString(want.String()))
		}
	}
	if n := len(r.floodBufs); n > cap(r.floodBufs) || n == 0 {
		t.Errorf("%d flood buffers kept for reuse, want 1..%d", n, cap(r.floodBufs))
	}
}
