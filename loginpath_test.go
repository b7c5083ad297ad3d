package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// fakeLoginShell writes a shell script that behaves as /bin/sh, except that as a login shell (-l first) it runs
// profile (shell code) first.
func fakeLoginShell(t *testing.T, profile string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fakesh")
	script := "#!/bin/sh\nif [ \"$1\" = -l ]; then\n  shift\n" + profile + "\nfi\nexec /bin/sh \"$@\"\n"
	if err := os.WriteFile(p, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProbeLoginPath(t *testing.T) {
	env := []string{"PATH=/usr/bin:/bin", "HOME=/home/someone"}
	tests := []struct {
		name, profile string
		want          []string
		err           string
	}{
		{"profile exports dirs, and prints a greeting first",
			`echo "welcome"; PATH="/opt/fake/bin: $HOME/.cargo/bin ::$PATH"; export PATH`,
			[]string{"/opt/fake/bin", "/home/someone/.cargo/bin", "/usr/bin", "/bin"}, ""},
		{"greeting without a newline", `printf 'hi'; PATH=/x:$PATH; export PATH`, []string{"/x", "/usr/bin", "/bin"}, ""},
		{"failing profile", `exit 3`, nil, "exit status 3"},
		{"unset PATH", `unset PATH; exec /bin/sh -c '/usr/bin/env -0'`, nil, "no PATH in its environment"},
		{"flood", `exec /bin/sh -c 'yes | head -c 2000000'`, nil, "more than 1048576 bytes of output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dirs, err := probeLoginPath(context.Background(), fakeLoginShell(t, tt.profile), env)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err %v, want %q (dirs %q)", err, tt.err, dirs)
				}
				return
			}
			if err != nil || !slices.Equal(dirs, tt.want) {
				t.Fatalf("dirs %q err %v, want %q", dirs, err, tt.want)
			}
		})
	}
}

// A login shell that hangs is killed, with what it started, at the deadline.
func TestProbeLoginPathDeadline(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "pid")
	sh := fakeLoginShell(t, "sleep 30 & echo $! > "+pidFile+"; wait")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	dirs, err := probeLoginPath(ctx, sh, []string{"PATH=/usr/bin:/bin"})
	if err == nil || dirs != nil {
		t.Fatalf("dirs %q err %v, want an error", dirs, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("probe returned after %v", d)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	proc := "/proc/" + strings.TrimSpace(string(b))
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(proc); errors.Is(err, os.ErrNotExist) {
			break
		}
		if stat, _ := os.ReadFile(proc + "/stat"); strings.Contains(string(stat), ") Z ") {
			break // killed, waiting for init to reap it
		}
		if time.Now().After(deadline) {
			t.Fatalf("the profile's sleep %s survived the probe", proc)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestLoginPathDirs(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	p := startLoginPath(fakeLoginShell(t, "PATH=/fake:$PATH; export PATH"), []string{"PATH=/usr/bin:/bin"}, logger)
	defer p.stop()
	if got := p.Dirs(context.Background()); !slices.Equal(got, []string{"/fake", "/usr/bin", "/bin"}) {
		t.Errorf("Dirs = %q", got)
	}
	// A caller whose context ends does not wait for a slow probe.
	slow := startLoginPath(fakeLoginShell(t, "sleep 30"), []string{"PATH=/usr/bin:/bin"}, logger)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if got := slow.Dirs(ctx); got != nil {
		t.Errorf("Dirs after cancel = %q", got)
	}
	start := time.Now()
	slow.stop()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("stop took %v", d)
	}
	if got := slow.Dirs(context.Background()); got != nil {
		t.Errorf("Dirs of a stopped probe = %q", got)
	}
}

func TestPathFromEnv0(t *testing.T) {
	tests := []struct {
		out  string
		want string
		ok   bool
	}{
		{"HOME=/h\x00PATH=/a:/b\x00", "/a:/b", true},
		{"PATH=/only", "/only", true},
		{"motd\nline two\nPATH=/a\x00X=1\x00", "/a", true},
		{"X=1\x00MYPATH=/no\x00", "", false},
		{"F=() {\nPATH=/inside\n}\x00X=1\x00", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, ok := pathFromEnv0([]byte(tt.out))
		if got != tt.want || ok != tt.ok {
			t.Errorf("pathFromEnv0(%q) = %q %v, want %q %v", tt.out, got, ok, tt.want, tt.ok)
		}
	}
}

func TestLoginShell(t *testing.T) {
	if got := loginShell(" "); got != "/bin/sh" {
		t.Errorf("unset: %q", got)
	}
	if got := loginShell("/usr/bin/fish"); got != "/usr/bin/fish" {
		t.Errorf("fish: %q", got)
	}
	if got := loginShell("sh"); !filepath.IsAbs(got) {
		t.Errorf("bare name: %q", got)
	}
	if got := loginShell("no-such-shell-xyz"); got != "no-such-shell-xyz" {
		t.Errorf("missing bare name: %q", got)
	}
}

func TestProbeLogin(t *testing.T) {
	tests := []struct {
		cfg  config
		want bool
	}{
		{config{LoginPath: "auto", Sandbox: "none", Host: "auto"}, true},
		{config{LoginPath: "off", Sandbox: "none", Host: "auto"}, false},
		{config{LoginPath: "auto", Sandbox: "bwrap", Host: "auto"}, false},
		{config{LoginPath: "auto", Sandbox: "bwrap", Host: "sandbox"}, false},
		{config{LoginPath: "auto", Sandbox: "bwrap", Host: "gateway"}, true},
		{config{LoginPath: "auto", Sandbox: "bwrap", Host: "auto", ElevatedEnabled: true}, true},
	}
	for _, tt := range tests {
		if got := probeLogin(tt.cfg); got != tt.want {
			t.Errorf("probeLogin(%+v) = %v", tt.cfg, got)
		}
	}
}
