package tools

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/execmcp/execmcp/policy"
)

// zeros makes every id draw of the registry pick the first word: the sessions of a harness are amber-atlas,
// amber-atlas-2, amber-atlas-3, ... in start order (docs/reference.md#session-ids).
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func TestExecTitle(t *testing.T) {
	h := newHarness(t, nil)
	long := strings.Repeat("é", 121)
	for _, tc := range []struct {
		title any
		msg   string
	}{
		{long, "title is too long (121 chars; limit 120)."},
		{"two\nlines", "title must not contain control characters."},
		{"bell\a", "title must not contain control characters."},
		{"c1\u0085c1", "title must not contain control characters."},
		{7, `Invalid parameter "title": expected a string.`},
	} {
		r := h.exec(M{"title": tc.title, "command": "echo never"})
		if !r.IsError || text(r) != tc.msg {
			t.Errorf("title %q: isError %v, text %q, want %q", tc.title, r.IsError, text(r), tc.msg)
		}
	}
	// 120 chars, surrounding whitespace trimmed: accepted, and shown in details, list entry and list line.
	title := strings.Repeat("é", 119) + "!"
	r := h.exec(M{"title": "  " + title + "\t", "command": "echo hi; sleep 30", "background": true})
	if r.IsError || details(r)["title"] != title {
		t.Fatalf("background with title: %q %v", text(r), details(r))
	}
	id := details(r)["sessionId"].(string)
	l := h.process(M{"action": "list"})
	entry := details(l)["sessions"].([]any)[0].(map[string]any)
	if entry["title"] != title || entry["name"] != "echo hi" {
		t.Errorf("list entry %v, want title %q beside name %q", entry, title, "echo hi")
	}
	if !strings.HasPrefix(text(l), id+" running ") || !strings.HasSuffix(text(l), " :: "+title) {
		t.Errorf("list line %q does not end with the title", text(l))
	}
	for _, action := range []string{"poll", "log"} {
		if d := details(h.process(M{"action": action, "sessionId": id})); d["title"] != title {
			t.Errorf("%s details %v lack the title", action, d)
		}
	}
	h.process(M{"action": "kill", "sessionId": id})
	// Foreground results carry it too; a blank title is none.
	if d := details(h.exec(M{"title": "Say hi", "command": "echo hi"})); d["title"] != "Say hi" {
		t.Errorf("foreground details %v lack the title", d)
	}
	if d := details(h.exec(M{"title": "  ", "command": "echo hi"})); d["title"] != nil {
		t.Errorf("blank title kept: %v", d)
	}
}

func TestProcessIDPrefix(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.Sessions.Rand = zeros{} })
	start := func(cmd string) string {
		t.Helper()
		r := h.exec(M{"command": cmd, "background": true})
		if r.IsError {
			t.Fatalf("%s: %s", cmd, text(r))
		}
		return details(r)["sessionId"].(string)
	}
	first := start("echo first; sleep 30")
	if first != "amber-atlas" {
		t.Fatalf("first id %s, want amber-atlas: the ids are not the ones the test assumes", first)
	}
	// One session: its 8-char event prefix reaches it, in the action's texts and details by its full id.
	r := h.process(M{"action": "poll", "sessionId": "amber-at"})
	if r.IsError || details(r)["sessionId"] != "amber-atlas" {
		t.Fatalf("poll by prefix: %q %v", text(r), details(r))
	}
	if r := h.process(M{"action": "write", "sessionId": "amber-atl", "data": "x"}); text(r) != "Wrote 1 bytes to session amber-atlas." {
		t.Errorf("write by prefix: %q", text(r))
	}
	// Too short: looked up as an id.
	if r := h.process(M{"action": "poll", "sessionId": "amber"}); !r.IsError || text(r) != "No session found for amber" {
		t.Errorf("5-char prefix: %q", text(r))
	}
	second := start("echo second; sleep 30")
	if second != "amber-atlas-2" {
		t.Fatalf("second id %s, want amber-atlas-2", second)
	}
	// The exact id wins although it starts amber-atlas-2.
	if d := details(h.process(M{"action": "poll", "sessionId": "amber-atlas"})); d["sessionId"] != "amber-atlas" {
		t.Errorf("exact id: %v", d)
	}
	for _, action := range []string{"poll", "log", "write", "send-keys", "submit", "paste", "kill", "clear", "remove", "watch"} {
		r := h.process(M{"action": action, "sessionId": " amber-at ", "data": "x", "keys": []string{"Enter"}, "text": "x", "pattern": "x"})
		if want := "Session id amber-at is ambiguous: amber-atlas, amber-atlas-2"; !r.IsError || text(r) != want {
			t.Errorf("%s: isError %v %q, want %q", action, r.IsError, text(r), want)
		}
	}
	// Killing by the unique longer prefix reaches amber-atlas-2 only.
	if r := h.process(M{"action": "kill", "sessionId": "amber-atlas-"}); text(r) != "Termination requested for session amber-atlas-2." {
		t.Errorf("kill by prefix: %q", text(r))
	}
	waitStatus(t, h, "amber-atlas-2", "failed")
	// A finished record is a candidate too; clear reaches it by prefix and acknowledges the full id.
	if r := h.process(M{"action": "clear", "sessionId": "amber-atlas-"}); text(r) != "Cleared session amber-atlas-2." {
		t.Errorf("clear by prefix: %q", text(r))
	}
	h.process(M{"action": "kill", "sessionId": "amber-at"})
}

// waitStatus polls id until it reports status.
func waitStatus(t *testing.T, h *harness, id, status string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if d := details(h.process(M{"action": "poll", "sessionId": id, "timeout": 200})); d["status"] == status {
			return
		}
	}
	t.Fatalf("%s did not reach %s", id, status)
}

func TestScriptPreflight(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.ScriptPreflight = true })
	dir := h.tl.opts.Cwd
	write := func(name, content string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("bad.py", "import json\n# model accidentally wrote shell syntax:\npayload = $DM_JSON\nprint(payload)")
	write("bad.js", "NODE \"$TMPDIR/hot.json\"\nconsole.log('hi')")
	r := h.exec(M{"command": "python3 bad.py"})
	want := "exec preflight: detected likely shell variable injection ($DM_JSON) in python script: bad.py:3.\n" +
		"In Python, use os.environ.get(\"DM_JSON\") instead of raw $DM_JSON.\n" +
		"(If this is inside a string literal on purpose, escape it or restructure the code.)"
	if !r.IsError || text(r) != want || details(r)["error"] != want || details(r)["tool"] != "exec" {
		t.Errorf("python: %v %q %v, want %q", r.IsError, text(r), details(r), want)
	}
	r = h.exec(M{"command": "env node bad.js", "background": true})
	if want := "exec preflight: JS file starts with shell syntax (NODE \"$TMPDIR/hot.json\"). This looks like a shell command, not JavaScript."; !r.IsError || text(r) != want {
		t.Errorf("node: %q, want %q", text(r), want)
	}
	if l := text(h.process(M{"action": "list"})); l != textNoSessions {
		t.Errorf("a refused command was started: %q", l)
	}
	// Inline code and a command that is not a direct interpreter run are not checked.
	for cmd, out := range map[string]string{`python3 -c 'print("$" + "HOME")'`: "$HOME", "cat bad.py >/dev/null; echo ran": "ran"} {
		if r := h.exec(M{"command": cmd}); r.IsError || text(r) != out {
			t.Errorf("%s: %v %q, want %q", cmd, r.IsError, text(r), out)
		}
	}
	// Off: the command runs.
	off := newHarness(t, nil)
	if err := os.WriteFile(filepath.Join(off.tl.opts.Cwd, "bad.py"), []byte("payload = $A"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := off.exec(M{"command": "python3 bad.py 2>/dev/null; echo ran"}); r.IsError || !strings.HasSuffix(text(r), "ran") {
		t.Errorf("preflight off: %v %q", r.IsError, text(r))
	}
}

func TestScriptReader(t *testing.T) {
	base := t.TempDir()
	work := filepath.Join(base, "work")
	if err := os.MkdirAll(filepath.Join(work, "dir.py"), 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{"work/ok.py": "print(1)", "outside.py": "x = $A", "work/big.py": strings.Repeat("#", policy.ScriptMaxBytes+1),
		"work/max.py": strings.Repeat("#", policy.ScriptMaxBytes)}
	for p, c := range files {
		if err := os.WriteFile(filepath.Join(base, p), []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for link, target := range map[string]string{"work/in.py": "ok.py", "work/out.py": "../outside.py"} {
		if err := os.Symlink(target, filepath.Join(base, link)); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(work, "fifo.py"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A workdir reached through a symlink is compared by its real path.
	if err := os.Symlink(work, filepath.Join(base, "alias")); err != nil {
		t.Fatal(err)
	}
	for _, wd := range []string{work, filepath.Join(base, "alias")} {
		read := scriptReader(wd)
		for name, want := range map[string]bool{"ok.py": true, "in.py": true, "max.py": true, "out.py": false, "big.py": false,
			"dir.py": false, "fifo.py": false, "missing.py": false} {
			done := make(chan bool, 1)
			go func() { _, ok := read(filepath.Join(wd, name)); done <- ok }()
			select {
			case ok := <-done:
				if ok != want {
					t.Errorf("workdir %s: read %s = %v, want %v", wd, name, ok, want)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("read %s blocked", name)
			}
		}
	}
}
