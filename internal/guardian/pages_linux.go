package guardian

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// dropExecutablePages gives back the pages of the executable that starting the process touched. The guardian
// shares the server's binary, and Go initialises packages the guardian never uses (the emulator's and the metrics'
// tables) before it can take over; their code and read-only data stay resident in its page tables although the
// guardian only sleeps in read(2) from now on. MADV_DONTNEED on a read-only private file mapping only drops the
// process's references: a page it touches again is mapped back from the page cache, which the server keeps warm.
// Writable mappings are left alone (their modified pages exist nowhere else).
func dropExecutablePages() {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return
	}
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// start-end perms offset dev inode path
		fields := strings.Fields(sc.Text())
		if len(fields) < 6 || fields[5] != exe || strings.Contains(fields[1], "w") {
			continue
		}
		lo, hi, ok := strings.Cut(fields[0], "-")
		if !ok {
			continue
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			continue
		}
		// The raw call: the region is not Go memory, so it is named by address, not by a slice.
		_, _, _ = syscall.Syscall(syscall.SYS_MADVISE, uintptr(start), uintptr(end-start), syscall.MADV_DONTNEED)
	}
}
