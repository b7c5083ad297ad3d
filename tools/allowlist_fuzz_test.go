package tools

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/execmcp/execmcp/policy"
)

// Programs of the fuzzed allowlist (docs/reference.md#allowlist) and stubs of programs outside it. Every name
// is a logging stub on the PATH the commands run with; the builtins among them (echo, printf, test, [, read, true)
// run as builtins, the others (cat, wc, tr) as stubs.
var (
	fuzzAllowed   = []string{"echo", "printf", "cat", "true", "test", "[", "read", "export", "unset", "wc", "tr"}
	fuzzForbidden = []string{"id", "touch", "rm", "sh", "bash", "dash", "env", "xargs", "sort", "uname"}
)

// fuzzScratch is the scratch tree of FuzzAllowlistExecutes: bin holds the stubs (read-only inside the sandbox),
// marks the file each stub creates when it runs (allowed-<name> or denied-<name>), work the commands' cwd.
type fuzzScratch struct {
	root, bin, marks, work string
	bwrap                  string
	shells                 []string
}

func newFuzzScratch(f *testing.F) *fuzzScratch {
	bwrap, err := exec.LookPath("bwrap")
	if err != nil {
		f.Skip("bwrap is not installed: allowed commands are only run inside a sandbox, since redirections are not restricted")
	}
	root, err := filepath.EvalSymlinks(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	s := &fuzzScratch{root: root, bin: filepath.Join(root, "bin"), marks: filepath.Join(root, "marks"),
		work: filepath.Join(root, "work"), bwrap: bwrap}
	for _, d := range []string{s.bin, s.marks, s.work} {
		if err := os.Mkdir(d, 0o755); err != nil {
			f.Fatal(err)
		}
	}
	stub := func(name, mark string) {
		script := "#!/bin/sh\n: >> '" + filepath.Join(s.marks, mark) + "'\n"
		if err := os.WriteFile(filepath.Join(s.bin, name), []byte(script), 0o755); err != nil {
			f.Fatal(err)
		}
	}
	for _, n := range fuzzAllowed {
		stub(n, "allowed-"+n)
	}
	for _, n := range fuzzForbidden {
		stub(n, "denied-"+n)
	}
	for _, sh := range []string{"/bin/bash", "/bin/dash"} {
		if _, err := os.Stat(sh); err == nil {
			s.shells = append(s.shells, sh)
		}
	}
	if len(s.shells) == 0 {
		f.Skip("neither /bin/bash nor /bin/dash is installed")
	}
	// The sandbox must work here: a stub run through it leaves its mark.
	if err := s.run(context.Background(), s.shells[0], "cat"); err != nil {
		f.Skipf("bwrap does not work here: %v", err)
	}
	if _, err := os.Stat(filepath.Join(s.marks, "allowed-cat")); err != nil {
		f.Fatalf("the stub cat left no mark through the sandbox: %v", err)
	}
	return s
}

// run runs command with shell inside a sandbox where only marks and work are writable, with PATH = the stubs
// and nothing else in the environment. The sandbox's process group is killed when ctx ends.
func (s *fuzzScratch) run(ctx context.Context, shell, command string) error {
	cmd := exec.Command(s.bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp",
		"--ro-bind", s.bin, s.bin, "--bind", s.marks, s.marks, "--bind", s.work, s.work,
		"--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--cap-drop", "ALL", "--die-with-parent",
		"--chdir", s.work, "--", shell, "-c", command)
	cmd.Env = []string{"PATH=" + s.bin}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return nil // the command's own failure
		}
		return err
	case <-ctx.Done():
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		return nil
	}
}

// reset empties marks and work.
func (s *fuzzScratch) reset(t *testing.T) {
	for _, d := range []string{s.marks, s.work} {
		if err := os.RemoveAll(d); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
}

func dirNames(t *testing.T, dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	sort.Strings(names)
	return names
}

// FuzzAllowlistExecutes: a command the allowlist allows runs only allowlisted programs. Every allowed command runs
// with bash and dash in a sandbox whose PATH holds only logging stubs, for at most 2 s; no stub outside the
// allowlist may run, and nothing may appear in the scratch tree but the stubs' marks and files in the cwd. split,
// when not 0, inserts a backslash-newline into the command (at (split-1) modulo its length + 1).
func FuzzAllowlistExecutes(f *testing.F) {
	seeds := []string{
		// Line continuations the shell removes before it splits words.
		"echo \"$\\\n(touch m; id)\"", "echo $\\\n(id)", "x='a[$(id)]'; echo $\\\n((x))", "x='$(id)'; echo $\\\n{x@P}",
		"x='a[$(id)]'; echo $\\\n{!x}", "echo ${x:-$\\\n(id)}", "echo `echo $\\\n(id)`", "echo `i\\\nd`",
		"case $\\\n(id) in x) ;; esac", "case x in $\\\n(id)) echo;; esac", "cat <<E\n$\\\n(id)\nE",
		"cat <<E\nE\\\n\nid\nE", "echo ok # \\\nid", "echo \\\\\nid", "i\\\nd", "echo a \\\n b", "echo a \\\n| cat",
		"echo \"a \\\n$(id)\"", "echo '\\\n' \"$\\\n(id)\"", "cat <<'E'\nx\\\nE\nid\nE",
		// Translation, evaluation, and the bypass shapes of blocklists.
		`echo $"hello"`, `echo "${x:-$"hello"}"`, "x='a[$(id)]'; echo $((x))", "x='$(id)'; echo ${x@P}",
		"x='a[$(id)]'; echo ${!x}", "printf -v 'a[$(id)]' x", "read 'a[$(id)]' <<< x", "[ -v 'a[$(id)]' ]",
		"echo $(id)", "echo `id`", "$(echo id)", "echo ok; id", "echo ok\nid", "echo ok | id", "(id)", "{ id; }",
		"cat <(id)", "echo ok > >(id)", "cat <<EOF\n$(id)\nEOF", "echo ${x:-$(id)}", "x=$(id)", "[[ $(id) ]]",
		"i'd'", `i\d`, "/bin/i?", "{i,d}", "env id", "eval id", "exec id", "command id", "f() { id; }; f",
		"PATH=/usr/bin id", "export PATH=/usr/bin; id", "echo x | xargs id", "sh -c id",
		// Allowed programs.
		"echo ok", "echo ok | cat | wc -l", "printf '%s\\n' a b | tr a-z A-Z", "read x <<< y; echo $x",
		"for i in 1 2; do echo $i; done", "case x in x) echo y;; esac", "cat <<E\nhi $HOME\nE",
		"x=1; echo ${x:-d} $((1+2))", "[ -n x ] && echo y || true", "export A=1; echo $A", "echo a \\\n b \\\n\tc",
		"if true; then echo a; fi", "while read l; do echo $l; done <<< x", "echo $'\\x69d'", "unset x; echo ${#x}",
	}
	for i, s := range seeds {
		f.Add(s, uint16(0))
		f.Add(s, uint16(i*7+1))
	}
	s := newFuzzScratch(f)
	f.Fuzz(func(t *testing.T, command string, split uint16) {
		if len(command) > 2000 || strings.IndexByte(command, 0) >= 0 {
			return // argv cannot hold a NUL byte
		}
		if split > 0 { // a backslash-newline at any place of the command
			at := int(split-1) % (len(command) + 1)
			command = command[:at] + "\\\n" + command[at:]
		}
		err := policy.CheckSecurity("allowlist", func() policy.Program { return ParseProgram(command) }, fuzzAllowed,
			[]string{"PATH=" + s.bin}, s.work)
		if err != nil {
			var d *policy.Denial
			if !errors.As(err, &d) {
				t.Fatalf("%q: not a denial: %v", command, err)
			}
			return
		}
		for _, sh := range s.shells {
			s.reset(t)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			err := s.run(ctx, sh, command)
			cancel()
			if err != nil {
				t.Fatalf("%s -c %q: %v", sh, command, err)
			}
			for _, m := range dirNames(t, s.marks) {
				if !strings.HasPrefix(m, "allowed-") {
					t.Fatalf("%s -c %q is allowed but ran %s", sh, command, strings.TrimPrefix(m, "denied-"))
				}
			}
			if got := dirNames(t, s.root); strings.Join(got, ",") != "bin,marks,work" {
				t.Fatalf("%s -c %q: the scratch tree holds %q", sh, command, got)
			}
			if got := len(dirNames(t, s.bin)); got != len(fuzzAllowed)+len(fuzzForbidden) {
				t.Fatalf("%s -c %q: %d stubs left", sh, command, got)
			}
		}
	})
}
