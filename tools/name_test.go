package tools

import (
	"strings"
	"testing"
)

// TestDeriveName is the table of docs/reference.md#derived-name, row by row, plus a few extra cases.
func TestDeriveName(t *testing.T) {
	tests := []struct{ command, name string }{
		{"echo hello", "echo hello"},
		{"npm run build", "npm run"},
		{"ls -la", "ls -la"},
		{"ls", "ls"},
		{"python3 -m http.server 8000", "python3 http.server"},
		{"sleep 5 && echo done", "sleep 5"},
		{"cd /repo && make", "cd /repo"},
		{"FOO=1 make test", "make test"},
		{`git commit -m "fix: the thing"`, "git commit"},
		{`grep -rn "TODO list" src`, "grep TODO list"},
		{`sh -c 'trap "" TERM; sleep 30'`, `sh trap "" TERM; sleep 30`},
		{"cat $HOME/notes.txt", "cat $HOME/notes.txt"},
		{"( cd sub && make )", "cd sub"},
		{"export A=1 && npm test", "export A=1"},
		{"echo " + strings.Repeat("a", 60), "echo " + strings.Repeat("a", 22) + "..." + strings.Repeat("a", 22)},
		{"echo 'unterminated", "echo 'unterminated"},
		{"   ", ""},
		// extra
		{"", ""},
		{"FOO=1", "FOO=1"}, // no simple command: the fallback tokenizer
		{"echo $(date)", "echo $(date)"},
		{`printf "a\"b" x`, `printf a"b`},
		{"echo a\\ b", "echo a b"},
		{"sh -c 'echo\n  two'", "sh echo two"},
		{"if true; then echo x; fi", "true"},
		{`echo "unterminated`, `echo "unterminated`},
		{`"quoted cmd" arg`, "quoted cmd arg"},
		{"local -x A=1", "local A=1"},
	}
	for _, tc := range tests {
		if got := DeriveName(tc.command); got != tc.name {
			t.Errorf("DeriveName(%q) = %q, want %q", tc.command, got, tc.name)
		}
	}
}

func TestFallbackWords(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`a "b c" 'd e'`, []string{"a", "b c", "d e"}},
		{`x"y z"w`, []string{`x"y z"w`}},
		{`'' ""`, nil},
		{`"a\" b"`, []string{`a\" b`}},
		{"  one\ttwo\n", []string{"one", "two"}},
	}
	for _, tc := range tests {
		got := fallbackWords(tc.in)
		if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
			t.Errorf("fallbackWords(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzDeriveName(f *testing.F) {
	for _, s := range []string{"echo hi", "a=1 b", "'x", `"y\"`, "$(", "export", "( cd x )"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		name := DeriveName(s)
		if strings.TrimSpace(name) != name {
			t.Fatalf("name %q not trimmed", name)
		}
	})
}
