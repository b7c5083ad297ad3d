package sessions

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"unicode/utf8"

	"github.com/execmcp/execmcp/output"
)

// LogOptions configure spill files: the complete output of a session that may be backgrounded, kept on disk once
// it exceeds the retention cap (docs/reference.md#spill). The zero value turns spilling off.
type LogOptions struct {
	// Dir is the directory that holds one subdirectory per server, named after its pid; "" turns spilling off.
	// It and the server's subdirectory are created on the first spill, mode 0700, and the subdirectory is
	// removed by Close.
	Dir string
	// MaxBytes caps one file and TotalMaxBytes all files of the registry together; both are used as given when
	// Dir is set (0 stops every file at once).
	MaxBytes, TotalMaxBytes int64
}

// StopCause is why a spill file stopped growing.
type StopCause uint8

const (
	// StopNone: the file is complete.
	StopNone StopCause = iota
	// StopSessionCap: the next chunk would have passed LogOptions.MaxBytes.
	StopSessionCap
	// StopServerCap: the next chunk would have passed LogOptions.TotalMaxBytes.
	StopServerCap
	// StopError: creating or writing the file failed (LogInfo.Err).
	StopError
	// StopLowSpace: the next window would have eaten into the reserve of the file system holding the file (see
	// spaceLow): a spill file never fills a disk, or a small tmpfs such as $XDG_RUNTIME_DIR, to the last byte.
	StopLowSpace
)

// LogInfo describes the spill file of a session; the zero value is a session without one.
type LogInfo struct {
	// Spilled: the output exceeded the retention cap and went to a spill file.
	Spilled bool
	// Path is the file's absolute path; "" when it could not be created.
	Path string
	// Bytes is the file's size.
	Bytes int64
	// Cause is why the file stopped growing (StopNone while it is complete); Err is the error of StopError.
	Cause StopCause
	Err   error
}

// spill is the spill file of one session. The session's reader goroutine is its only writer: it writes outside
// the session lock, so that a slow disk delays only that reader, never a poll or a log of the session.
type spill struct {
	path string

	// The line count of the complete output, guarded by the session lock (it must agree with the retained text
	// when the file stopped): LFs, and whether the output ends with one.
	lfs    int64
	endsLF bool

	// Owned by the writer: the descriptor (nil once the file stopped or the session ended), the bytes written,
	// the bytes handed to writeback and the bytes dropped from the page cache (see settle).
	f       *os.File
	size    int64
	synced  int64
	dropped int64

	mu      sync.Mutex // guards what follows
	idx     output.LineIndex
	chars   int64
	cause   StopCause
	err     error
	removed bool
}

// count adds text to the line count of the complete output. Caller holds the session lock.
func (sp *spill) count(text []byte) {
	if len(text) > 0 {
		sp.lfs += int64(bytes.Count(text, []byte{'\n'}))
		sp.endsLF = text[len(text)-1] == '\n'
	}
}

// totalLines is the number of lines of the complete output (docs/reference.md#process-log), chars > 0 of them.
// Caller holds the session lock.
func (sp *spill) totalLines(chars int) int {
	if chars > 0 && !sp.endsLF {
		return int(sp.lfs) + 1
	}
	return int(sp.lfs)
}

// writeSpill writes to a spill file and dropSpillCache drops a written range from the page cache (see
// writeBehind); variables so that a test can make the disk fill up or fail.
var (
	writeSpill     = (*os.File).Write
	dropSpillCache = dropCache
)

// startSpill creates the spill file and writes everything retained so far, which is the complete output (the
// file is created just before the retention cap drops anything), and then text, the chunk of chars chars that
// passes the cap. Caller holds s.mu: the file is never seen without what the retained text held. This is the one
// file write under the session lock, once per session.
func (s *Session) startSpill(text []byte, chars int) {
	head := s.buf.Aggregated()
	sp := &spill{}
	sp.count([]byte(head))
	s.spill = sp
	dir, err := s.r.logDir()
	if err == nil {
		path := filepath.Join(dir, s.id+".log")
		var f *os.File
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
		if err == nil {
			sp.path, sp.f = path, f
		}
	}
	if err != nil {
		s.r.logger.Warn("spill file not created", "id", s.id, "err", err)
		sp.stop(StopError, err)
		return
	}
	sp.write(s.r, []byte(head), s.buf.TotalChars())
	sp.write(s.r, text, chars)
}

// write appends one chunk of chars chars, or as much of it as the caps allow, and stops the file when it could
// not write all of it. Only the reader goroutine calls it. It allocates nothing unless the file stops.
func (sp *spill) write(r *Registry, p []byte, chars int) {
	if sp.f == nil || len(p) == 0 {
		return
	}
	n, cause := len(p), StopNone
	if room := r.opts.Log.MaxBytes - sp.size; int64(n) > room {
		n, cause = int(max(room, 0)), StopSessionCap
	}
	if granted := r.reserveLog(n); granted < n {
		n, cause = granted, StopServerCap
	}
	if n < len(p) {
		// A file that stops at a cap ends after a whole line, or at least at a char boundary so that its text
		// stays valid UTF-8.
		cut := bytes.LastIndexByte(p[:n], '\n') + 1
		if cut == 0 {
			for cut = n; cut > 0 && !utf8.RuneStart(p[cut]); cut-- {
			}
		}
		r.logTotal.Add(int64(cut - n))
		n = cut
	}
	w, err := writeSpill(sp.f, p[:n])
	if w < n {
		r.logTotal.Add(int64(w - n))
	}
	sp.size += int64(w)
	for sp.size-sp.synced >= spillWindow {
		startWriteback(sp.f, sp.synced, spillWindow)
		sp.synced += spillWindow
		if cause == StopNone && err == nil && spaceLow(sp.f) {
			cause = StopLowSpace
		}
	}
	sp.mu.Lock()
	sp.idx.Feed(p[:w])
	if w == len(p) {
		sp.chars += int64(chars)
	} else {
		sp.chars += int64(utf8.RuneCount(p[:w]))
	}
	switch {
	case err != nil:
		sp.stopLocked(StopError, err)
	case cause != StopNone:
		sp.stopLocked(cause, nil)
	}
	stopped := sp.cause != StopNone
	sp.mu.Unlock()
	if stopped {
		sp.closeFile()
	}
}

// Write-behind: a spill file is written once and read rarely, mostly near its end, so the file keeps no more than
// about spillLag windows of page cache behind the one being written, instead of up to a GiB per session pushing
// out what other programs cache. write hands each full window to writeback at once; settle waits for the window
// spillLag windows back, whose writeback has usually long completed, and drops it from the cache. The writer waits
// only when the disk is slower than the command prints (then the command is held back, as the kernel's dirty-page
// throttling would hold it later), and then without the ingest semaphore, so that other sessions' output is not
// held back with it. On a tmpfs, whose pages are the file, both calls do nothing.
const (
	spillWindow = 8 << 20
	spillLag    = 4
)

// settle drops the windows written back long enough ago from the page cache. An I/O error of a writeback it
// waited for stops the file like a failed write; other failures (a filesystem without the calls) change nothing.
// Only the writer calls it, after write and without the ingest semaphore.
func (sp *spill) settle() {
	for sp.f != nil && sp.dropped+spillWindow <= sp.synced-spillLag*spillWindow {
		err := dropSpillCache(sp.f, sp.dropped, spillWindow)
		sp.dropped += spillWindow
		if err != nil {
			sp.stop(StopError, err)
			sp.closeFile()
		}
	}
}

// settleSpill settles the session's spill file (see spill.settle); the reader calls it after each chunk once it
// released the ingest semaphore.
func (s *Session) settleSpill() {
	s.mu.Lock()
	sp := s.spill
	s.mu.Unlock()
	if sp != nil {
		sp.settle()
	}
}

func (sp *spill) stop(cause StopCause, err error) {
	sp.mu.Lock()
	sp.stopLocked(cause, err)
	sp.mu.Unlock()
}

func (sp *spill) stopLocked(cause StopCause, err error) {
	if sp.cause == StopNone {
		sp.cause, sp.err = cause, err
	}
}

// closeFile releases the write descriptor; only the writer, or the waiter once the readers are done, calls it.
func (sp *spill) closeFile() {
	if sp.f != nil {
		_ = sp.f.Close()
		sp.f = nil
	}
}

// info describes the file. Caller holds the session lock.
func (sp *spill) info() LogInfo {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return LogInfo{Spilled: true, Path: sp.path, Bytes: sp.idx.Size(), Cause: sp.cause, Err: sp.err}
}

// closeSpill ends the writing of the session's file (the readers are done). The file stays for the record.
func (s *Session) closeSpill() {
	s.mu.Lock()
	sp := s.spill
	s.mu.Unlock()
	if sp != nil {
		sp.closeFile()
	}
}

// dropLog removes the session's spill file, when its record goes (docs/reference.md#spill). Call it without the
// registry lock, after the readers are done.
func (s *Session) dropLog() {
	s.mu.Lock()
	sp := s.spill
	s.mu.Unlock()
	if sp == nil {
		return
	}
	sp.mu.Lock()
	if sp.removed {
		sp.mu.Unlock()
		return
	}
	sp.removed = true
	size, path := sp.idx.Size(), sp.path
	sp.mu.Unlock()
	sp.closeFile()
	if path != "" {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			s.r.logger.Warn("spill file not removed", "path", path, "err", err)
		}
	}
	s.r.logTotal.Add(-size)
}

// dropLogs removes the spill files of records that went.
func dropLogs(ss []*Session) {
	for _, s := range ss {
		s.dropLog()
	}
}

// reserveLog takes up to n bytes of the registry's total cap and returns how many it got.
func (r *Registry) reserveLog(n int) int {
	for {
		cur := r.logTotal.Load()
		k := int(min(int64(n), max(r.opts.Log.TotalMaxBytes-cur, 0)))
		if k == 0 || r.logTotal.CompareAndSwap(cur, cur+int64(k)) {
			return k
		}
	}
}

// logDir creates the server's log directory on first use: LogOptions.Dir (private to this user) and in it the
// subdirectory named after this process, both mode 0700.
func (r *Registry) logDir() (string, error) {
	r.logMu.Lock()
	defer r.logMu.Unlock()
	if r.logMade != "" {
		return r.logMade, nil
	}
	base := r.opts.Log.Dir
	if err := os.MkdirAll(base, 0o700); err != nil {
		return "", err
	}
	if err := checkPrivateDir(base); err != nil {
		return "", err
	}
	dir := filepath.Join(base, strconv.Itoa(os.Getpid()))
	err := os.Mkdir(dir, 0o700)
	if errors.Is(err, fs.ErrExist) {
		// Left by an earlier process with this pid: this process has not used it yet.
		if err = os.RemoveAll(dir); err == nil {
			err = os.Mkdir(dir, 0o700)
		}
	}
	if err != nil {
		return "", err
	}
	r.logMade = dir
	return dir, nil
}

// removeLogDir removes the server's log directory with every file in it (at shutdown).
func (r *Registry) removeLogDir() {
	r.logMu.Lock()
	dir := r.logMade
	r.logMade = ""
	r.logMu.Unlock()
	if dir == "" {
		return
	}
	if err := os.RemoveAll(dir); err != nil {
		r.logger.Warn("log directory not removed", "dir", dir, "err", err)
	}
}

// checkPrivateDir refuses a directory that is a symbolic link, belongs to another user or that others may write
// to: the spill files of this server would be readable or replaceable by them.
func checkPrivateDir(dir string) error {
	fi, err := os.Lstat(dir)
	if err != nil {
		return err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	switch {
	case !fi.IsDir():
		return fmt.Errorf("log directory %s is not a directory", dir)
	case ok && int(st.Uid) != os.Geteuid():
		return fmt.Errorf("log directory %s belongs to uid %d", dir, st.Uid)
	case fi.Mode().Perm()&0o022 != 0:
		return fmt.Errorf("log directory %s is writable by other users (mode %#o)", dir, fi.Mode().Perm())
	}
	return nil
}

// RemoveStaleLogDirs removes the subdirectories of the log directory dir (LogOptions.Dir) that servers left
// when they were killed: those named after a pid that is not a live process, and the one named after this
// process, which no registry uses yet (call it before New). Directories of live servers, and names that are not
// pids, are left alone. A dir that does not exist is not an error; one that is not private is not touched.
func RemoveStaleLogDirs(dir string) (removed []string, err error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if err := checkPrivateDir(dir); err != nil {
		return nil, err
	}
	var errs []error
	for _, e := range entries {
		pid, perr := strconv.Atoi(e.Name())
		if perr != nil || pid <= 0 || !e.IsDir() || strconv.Itoa(pid) != e.Name() {
			continue
		}
		if pid != os.Getpid() && processAlive(pid) {
			continue
		}
		p := filepath.Join(dir, e.Name())
		if err := os.RemoveAll(p); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, p)
	}
	return removed, errors.Join(errs...)
}

// processAlive reports whether pid is a process (of any user). A pid that a dead server had and another process
// now has counts as alive: its directory goes when that process is gone.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// ReadLog calls read with the session's info (the retained output included) and the view of its complete output
// that log pages and searches (docs/reference.md#spill): the spill file when it is complete, the file followed
// by the retained text when it stopped, the retained text when there is no file. The error is ErrNotFound,
// ErrNotBackgrounded, or the error of opening the file.
func (r *Registry) ReadLog(scope, id string, read func(Info, *output.LogView) error) error {
	s, _ := r.lookup(scope, id)
	if s == nil {
		return ErrNotFound
	}
	s.mu.Lock()
	if !s.backgrounded {
		s.mu.Unlock()
		return ErrNotBackgrounded
	}
	info := s.infoLocked(true)
	sp := s.spill
	var total int
	var idx output.LineIndex
	var chars int64
	if sp != nil {
		total = sp.totalLines(info.TotalChars)
		// One snapshot of the file: the index, its chars and its state agree.
		sp.mu.Lock()
		idx, chars = sp.idx, sp.chars
		info.Log = LogInfo{Spilled: true, Path: sp.path, Bytes: idx.Size(), Cause: sp.cause, Err: sp.err}
		sp.mu.Unlock()
	}
	s.mu.Unlock()

	if sp == nil {
		v := output.TextView(info.Aggregated)
		return read(info, &v)
	}
	var file io.ReaderAt = strings.NewReader("")
	if info.Log.Path != "" {
		f, err := os.OpenFile(info.Log.Path, os.O_RDONLY|syscall.O_NOFOLLOW, 0)
		if err != nil {
			return err
		}
		defer f.Close()
		file = f
	}
	var v output.LogView
	if info.Log.Cause == StopNone {
		v = output.FileView(file, idx, int(chars))
	} else {
		v = output.StoppedView(file, idx, info.Aggregated, total, info.TotalChars)
	}
	return read(info, &v)
}
