package sessions

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Cgroups is the server's cgroup v2 group execmcp-<pid>. Each session's leader starts in a child group of its own,
// named by the session id, so that killing the child group reaches descendants that left the session's process
// group (`setsid`, daemons) (docs/reference.md#cgroups). Safe for concurrent use.
type Cgroups struct {
	dir string
	// lock is the open directory dir, on which the server holds an exclusive flock(2) for as long as it runs: a
	// server that looks for groups left by killed servers tells a live one's by the lock, whatever pid namespace
	// it is in (RemoveStale). Closing it at exit or death releases the lock. -1 when the lock could not be taken.
	lock int
	// off is set when placing a leader in its group failed although the spawn itself works: sessions start
	// without a group from then on.
	off atomic.Bool
	// warned is set once a failed mkdir was logged.
	warned atomic.Bool
}

// CgroupsUnavailable is the info line logged once when the server runs without cgroups.
const CgroupsUnavailable = "cgroups unavailable; descendants that leave their process group are out of reach"

// cgroupFS is where OpenCgroups reads the kernel's view; a test points it at files of its own.
var cgroupFS = struct{ self, mountinfo string }{"/proc/self/cgroup", "/proc/self/mountinfo"}

// OpenCgroups looks for a cgroup v2 hierarchy in which the server can create groups: its own group (the `0::` line
// of /proc/self/cgroup) under a cgroup2 mount (/sys/fs/cgroup, /sys/fs/cgroup/unified on hybrid systems, or any
// other listed in /proc/self/mountinfo), and creates execmcp-<pid> there; an existing one is reused when no live
// server holds its lock (it is left over from a dead process with the same pid), and refused when one does (a
// server with the same pid in another pid namespace). The error says why cgroups cannot be used.
func OpenCgroups() (*Cgroups, error) {
	self, err := os.ReadFile(cgroupFS.self)
	if err != nil {
		return nil, errors.New("no /proc/self/cgroup")
	}
	path, ok := unifiedPath(self)
	if !ok {
		return nil, errors.New("the server is in no cgroup v2 group")
	}
	mi, err := os.ReadFile(cgroupFS.mountinfo)
	if err != nil {
		return nil, errors.New("no /proc/self/mountinfo")
	}
	dirs := cgroup2Dirs(mi, path)
	if len(dirs) == 0 {
		return nil, errors.New("no cgroup2 mount holds the server's cgroup " + path)
	}
	name := "execmcp-" + strconv.Itoa(os.Getpid())
	var firstErr error
	for _, d := range dirs {
		dir := filepath.Join(d, name)
		err := os.Mkdir(dir, 0o755)
		if err != nil && !errors.Is(err, fs.ErrExist) {
			firstErr = cmpOr(firstErr, err)
			continue
		}
		if _, err := os.Stat(filepath.Join(dir, "cgroup.kill")); err != nil {
			_ = os.Remove(dir)
			firstErr = cmpOr(firstErr, errors.New(dir+" has no cgroup.kill (Linux 5.14 or later)"))
			continue
		}
		lock, err := lockGroup(dir)
		if err != nil {
			firstErr = cmpOr(firstErr, err)
			continue
		}
		return &Cgroups{dir: dir, lock: lock}, nil
	}
	return nil, firstErr
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// Dir is the absolute path of execmcp-<pid>.
func (c *Cgroups) Dir() string { return c.dir }

// Close removes execmcp-<pid>, which fails while a session group is left in it, and releases its lock.
func (c *Cgroups) Close() error {
	err := os.Remove(c.dir)
	if c.lock >= 0 {
		_ = unix.Close(c.lock)
		c.lock = -1
	}
	return err
}

// lockGroup takes the server's exclusive lock on its group dir. A group whose lock another process holds belongs
// to a live server. A cleaner may have removed a dir between its creation and the lock: it is made again, a few
// times at most. A filesystem without flock(2) leaves the group unlocked (-1): only the pid tells then.
func lockGroup(dir string) (int, error) {
	for range 3 {
		fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOENT) {
			if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
				return -1, err
			}
			continue
		}
		if err != nil {
			return -1, err
		}
		switch err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); {
		case errors.Is(err, unix.EWOULDBLOCK):
			_ = unix.Close(fd)
			return -1, errors.New(dir + " belongs to a live server (in another pid namespace)")
		case err != nil:
			_ = unix.Close(fd)
			return -1, nil
		}
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err == nil && st.Nlink > 0 {
			return fd, nil
		}
		_ = unix.Close(fd) // removed meanwhile: make it again
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, fs.ErrExist) {
			return -1, err
		}
	}
	return -1, errors.New(dir + " keeps being removed")
}

// RemoveStale removes the groups that servers killed without their guardian left next to this server's own:
// execmcp-<pid> whose lock no process holds and whose pid is not a live process, with their session groups, when
// no process is left in them. A group that still holds processes is not touched and is returned in busy: what
// runs there was started by a dead server and is out of this one's reach, which only the guardian prevents.
// Groups of live servers (their lock is held, whatever their pid namespace), and names that are not
// execmcp-<pid>, are left alone.
func (c *Cgroups) RemoveStale() (removed, busy []string, err error) {
	parent := filepath.Dir(c.dir)
	entries, err := os.ReadDir(parent)
	if err != nil {
		return nil, nil, err
	}
	var errs []error
	for _, e := range entries {
		digits, ok := strings.CutPrefix(e.Name(), "execmcp-")
		pid, perr := strconv.Atoi(digits)
		if !ok || perr != nil || pid <= 0 || strconv.Itoa(pid) != digits || !e.IsDir() || pid == os.Getpid() ||
			processAlive(pid) {
			continue
		}
		dir := filepath.Join(parent, e.Name())
		fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			continue
		}
		if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); errors.Is(err, unix.EWOULDBLOCK) {
			_ = unix.Close(fd) // a live server's, in another pid namespace
			continue
		}
		if cgroupPopulated(dir) {
			_ = unix.Close(fd)
			busy = append(busy, dir)
			continue
		}
		// A cgroup directory goes with rmdir once it has no child group: the session groups first.
		kids, _ := os.ReadDir(dir)
		for _, k := range kids {
			if k.IsDir() {
				if err := os.Remove(filepath.Join(dir, k.Name())); err != nil {
					errs = append(errs, err)
				}
			}
		}
		err = os.Remove(dir)
		_ = unix.Close(fd)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, dir)
	}
	return removed, busy, errors.Join(errs...)
}

// unifiedPath returns the path of the `0::<path>` line of a /proc/<pid>/cgroup file.
func unifiedPath(procCgroup []byte) (string, bool) {
	for _, line := range strings.Split(string(procCgroup), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok && strings.HasPrefix(p, "/") {
			return p, true
		}
	}
	return "", false
}

// cgroup2Dirs returns the directories where the cgroup path appears under a cgroup2 mount of mountinfo: the
// mount point joined with the path below the mount's root, /sys/fs/cgroup first, then /sys/fs/cgroup/unified, then
// the others in mount order. A mount whose root is not above the path does not show it.
func cgroup2Dirs(mountinfo []byte, path string) []string {
	var preferred, others []string
	for _, line := range strings.Split(string(mountinfo), "\n") {
		// id parent major:minor root mountpoint options [optional...] - fstype source superoptions
		pre, post, ok := strings.Cut(line, " - ")
		if !ok {
			continue
		}
		if f := strings.Fields(post); len(f) == 0 || f[0] != "cgroup2" {
			continue
		}
		f := strings.Fields(pre)
		if len(f) < 5 {
			continue
		}
		root, point := unescapeMount(f[3]), unescapeMount(f[4])
		rel, ok := below(path, root)
		if !ok {
			continue
		}
		dir := filepath.Join(point, rel)
		switch point {
		case "/sys/fs/cgroup":
			preferred = append([]string{dir}, preferred...)
		case "/sys/fs/cgroup/unified":
			preferred = append(preferred, dir)
		default:
			others = append(others, dir)
		}
	}
	return append(preferred, others...)
}

// below returns path relative to root when path is root or inside it.
func below(path, root string) (string, bool) {
	if root == "/" {
		return path, true
	}
	if path == root {
		return "/", true
	}
	if rest, ok := strings.CutPrefix(path, root+"/"); ok {
		return "/" + rest, true
	}
	return "", false
}

// unescapeMount undoes the octal escapes (\040 for a space) of a mountinfo field.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// cgroup is the group of one session.
type cgroup struct{ dir string }

// create makes the group name and opens it for the spawn to place the leader in (CLONE_INTO_CGROUP). It returns no
// group when c is nil or placement was turned off. The caller closes fd.
func (c *Cgroups) create(name string) (g *cgroup, fd int, err error) {
	if c == nil || c.off.Load() {
		return nil, -1, nil
	}
	dir := filepath.Join(c.dir, name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, -1, err
	}
	fd, err = unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		_ = os.Remove(dir)
		return nil, -1, err
	}
	return &cgroup{dir: dir}, fd, nil
}

// kill sends SIGKILL to every process of the group, wherever it is in the process tree. A group that is gone
// counts as killed.
func (g *cgroup) kill() error {
	err := os.WriteFile(filepath.Join(g.dir, "cgroup.kill"), []byte("1"), 0)
	if cgroupGone(err) {
		return nil
	}
	return err
}

// cgroupGone reports whether err says the group's directory was removed: before the file was opened (ENOENT), or
// between the open and the write (ENODEV, kernfs's answer for a removed node). The waiter removes a group as soon
// as it empties, which a SIGKILL sent just before cgroup.kill can make happen in between.
func cgroupGone(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENODEV)
}

// populated reports whether a process (not a zombie) is in the group or below it.
func (g *cgroup) populated() bool { return cgroupPopulated(g.dir) }

func cgroupPopulated(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.events"))
	return err == nil && bytes.Contains(b, []byte("populated 1"))
}

// remove deletes the empty group; a group that is gone counts as removed.
func (g *cgroup) remove() error {
	err := os.Remove(g.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// waitEmpty waits until none of the groups in dirs is populated, at most until deadline, woken by the change
// events of their cgroup.events files; it reports whether they all emptied.
func waitEmpty(dirs []string, deadline time.Time) bool {
	full := func() []string {
		var out []string
		for _, d := range dirs {
			if cgroupPopulated(d) {
				out = append(out, d)
			}
		}
		return out
	}
	dirs = full()
	if len(dirs) == 0 {
		return true
	}
	w, err := newCgroupEvents()
	if err != nil {
		return false
	}
	defer w.close()
	for _, d := range dirs {
		_, _ = w.add(d)
	}
	for {
		// Checked after the watches exist, so that no change is missed between the check and the wait.
		if dirs = full(); len(dirs) == 0 {
			return true
		}
		if _, err := w.read(deadline); err != nil {
			return false
		}
	}
}

// cgroupWatch tells the registry when groups it watches may have emptied: one inotify instance for all of them, read
// by one goroutine that waits in the runtime poller (holding no thread).
type cgroupWatch struct {
	ev *cgroupEvents
	mu sync.Mutex
	wd map[int]int // watch descriptor -> pgid of the session
}

func newCgroupWatch() (*cgroupWatch, error) {
	ev, err := newCgroupEvents()
	if err != nil {
		return nil, err
	}
	return &cgroupWatch{ev: ev, wd: map[int]int{}}, nil
}

// add watches the group of the session group pgid.
func (w *cgroupWatch) add(g *cgroup, pgid int) error {
	wd, err := w.ev.add(g.dir)
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.wd[wd] = pgid
	w.mu.Unlock()
	return nil
}

// run calls changed with the pgid of each watched group whose events changed, until close.
func (w *cgroupWatch) run(changed func(pgid int)) {
	for {
		wds, err := w.ev.read(time.Time{})
		if err != nil {
			return
		}
		for _, wd := range wds {
			w.mu.Lock()
			pgid, ok := w.wd[wd]
			w.mu.Unlock()
			if ok {
				changed(pgid)
			}
		}
	}
}

// forget drops the watch of pgid's group (its directory is being removed).
func (w *cgroupWatch) forget(pgid int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for wd, p := range w.wd {
		if p == pgid {
			delete(w.wd, wd)
			w.ev.remove(wd)
		}
	}
}

// close makes run return.
func (w *cgroupWatch) close() { w.ev.close() }
