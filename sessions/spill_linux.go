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

// spaceLow reports whether the file system holding f would keep less than its reserve free after one more window:
// a tenth of its size, at most 1 GiB. Checked once per window written, so a file stops within a window of it.
func spaceLow(f *os.File) bool {
	var st unix.Statfs_t
	if err := unix.Fstatfs(int(f.Fd()), &st); err != nil || st.Blocks == 0 {
		return false
	}
	bs := uint64(st.Bsize)
	reserve := min(st.Blocks*bs/10, 1<<30)
	return st.Bavail*bs < reserve+spillWindow
}
