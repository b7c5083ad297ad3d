package sessions

import (
	"errors"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// startWriteback starts writing a range of f to disk without waiting (see spill.writeBehind).
func startWriteback(f *os.File, off, n int64) {
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}

// dropCache waits until a range of f is on disk and drops it from the page cache. It returns only an I/O error
// of that range's writeback (the file's data is then not what was written); any other failure leaves the range
// cached.
func dropCache(f *os.File, off, n int64) error {
	fd := int(f.Fd())
	err := unix.SyncFileRange(fd, off, n,
		unix.SYNC_FILE_RANGE_WAIT_BEFORE|unix.SYNC_FILE_RANGE_WRITE|unix.SYNC_FILE_RANGE_WAIT_AFTER)
	if errors.Is(err, syscall.EIO) || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return &os.PathError{Op: "write", Path: f.Name(), Err: err}
	}
	if err == nil {
		_ = unix.Fadvise(fd, off, n, unix.FADV_DONTNEED)
	}
	return nil
}
