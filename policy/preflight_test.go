package policy

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The sources OpenClaw's script preflight tests refuse and let through, and the edges of the lexer.
func TestPythonShellVar(t *testing.T) {
	tests := []struct {
		name, src string
		token     string // "" = none
		line      int
	}{
		// Refused (OpenClaw's cases).
		{"bare", "payload = $A", "$A", 1},
		{"after lines", "import json\n# model accidentally wrote shell syntax:\npayload = $DM_JSON\nprint(payload)", "$DM_JSON", 3},
		{"f-string field beside a nested string", `result = f"{ "$A" + $P }"`, "$P", 1},
		{"escaped backslash before a field", `result = f"\\{$A}"`, "$A", 1},
		{"lambda body in a field", `result = f"{lambda value: $F}"`, "$F", 1},
		{"CR ends an unterminated string", "text = \"ok\rpayload = $E", "$E", 2},
		{"CR ends a comment", "text = \"ok\"\r# note\rpayload = $D", "$D", 3},
		{"braced", "x = ${HOME}", "${HOME}", 1},
		{"lower case", "for f in $files:\n    pass", "$files", 1},
		{"CRLF lines", "a = 1\r\nb = $B\r\n", "$B", 2},
		{"after a triple string", "'''$X\n'''\ny = $Y", "$Y", 3},
		{"backslash brace in an f-string", `s = f"\{$Q}"`, "$Q", 1},
		{"field of a field spec", `s = f"{x:{$W}}"`, "$W", 1},
		{"conversion then code", `s = f"{x!r}" + $Z`, "$Z", 1},
		{"nested brackets in a field", `s = f"{d[{1: 2}[1]]:>{$N}}"`, "$N", 1},
		{"string prefix case", "s = Rb'$no' + $YES", "$YES", 1},
		{"line continuation in code", "x = 1 + \\\n    $C", "$C", 2},
		// Let through (OpenClaw's cases).
		{"strings, comments and format text", strings.Join([]string{
			`value = "$A"`,
			`other = '''$_'''`,
			`raw = r"$Q"`,
			`hash_text = "# $R"`,
			`nested = f"{ '$S' }"`,
			`braces = f"{{ $T }}"`,
			"continued = \"text \\\r\n$U\"",
			"class Echo:",
			"    def __format__(self, spec):",
			"        return spec",
			`format_text = f"{Echo():$W}"`,
			"élambda = Echo()",
			`unicode_format = f"{élambda:$Y}"`,
			"# $P",
			`print(f"{value}:{other}:{raw}:{hash_text}:{nested}:{braces}:{continued}:{format_text}:{unicode_format}")`,
		}, "\n"), "", 0},
		{"dollar without a name", "x = '$'\ny = 3 # $\nz = $ 1", "", 0},
		{"escaped quote", `s = "a\"$B\"c"`, "", 0},
		{"raw string escaped quote", `s = r"a\"$B"`, "", 0},
		{"bytes", `s = b"$B" + rb'$C'`, "", 0},
		{"triple f-string spanning lines", "s = f'''{\nx\n}$T'''", "", 0},
		{"unterminated triple string", "s = '''$A", "", 0},
		{"t-string", `s = t"{name} $X"`, "", 0},
		{"empty", "", "", 0},
	}
	for _, tt := range tests {
		token, name, off, found := pythonShellVar(tt.src)
		if tt.token == "" {
			if found {
				t.Errorf("%s: found %q at %d, want none", tt.name, token, off)
			}
			continue
		}
		if !found || token != tt.token || lineAt(tt.src, off) != tt.line {
			t.Errorf("%s: found %v %q (name %q) on line %d, want %q on line %d", tt.name, found, token, name, lineAt(tt.src, off), tt.token, tt.line)
			continue
		}
		if want := strings.Trim(tt.token, "${}"); name != want {
			t.Errorf("%s: name %q, want %q", tt.name, name, want)
		}
	}
}

func TestCheckScript(t *testing.T) {
	f := CheckScript(ScriptPython, "bad.py", []byte("import json\npayload = $DM_JSON\n"))
	if want := (ScriptFinding{Kind: ScriptPython, File: "bad.py", Token: "$DM_JSON", Name: "DM_JSON", Line: 2}); f == nil || *f != want {
		t.Errorf("python: %+v, want %+v", f, want)
	}
	f = CheckScript(ScriptPython, "b.py", []byte("x = ${HOME}"))
	if want := (ScriptFinding{Kind: ScriptPython, File: "b.py", Token: "${HOME}", Name: "HOME", Line: 1}); f == nil || *f != want {
		t.Errorf("braced: %+v, want %+v", f, want)
	}
	for _, tc := range []struct {
		src, line string
	}{
		{"NODE \"$TMPDIR/hot.json\"\nconsole.log('hi')", `NODE "$TMPDIR/hot.json"`},
		{"\n  \r\n  NODE app.js  \n", "NODE app.js"},
		{"NODE\t$X", "NODE\t$X"},
		{"NODE ~/x.js", "NODE ~/x.js"},
		{"NODE 'a'", "NODE 'a'"},
	} {
		want := ScriptFinding{Kind: ScriptNode, File: "bad.js", ShellLine: tc.line}
		if f := CheckScript(ScriptNode, "bad.js", []byte(tc.src)); f == nil || *f != want {
			t.Errorf("node %q: %+v, want %+v", tc.src, f, want)
		}
	}
	for _, src := range []string{
		"const value = $DM_JSON;", // a valid identifier: Node reports its own ReferenceError
		"// $COMMENT\nconst $A = \"a\", $_ = \"b\"; NODE: { process.stdout.write($A + $_ + \"$HOME\" + `$TMPDIR`); }",
		"NODE: { }", "NODE = 1", "NODE instanceof X", "NODE in obj", "NODE", "NODES \"x\"", "#!/usr/bin/env node\nNODE x",
		"", "\n\n",
	} {
		if f := CheckScript(ScriptNode, "ok.js", []byte(src)); f != nil {
			t.Errorf("node %q refused: %+v", src, f)
		}
	}
	if f := CheckScript(ScriptPython, "ok.py", []byte("print('$HOME')")); f != nil {
		t.Errorf("python string refused: %+v", f)
	}
}

func TestScriptTargets(t *testing.T) {
	py := func(p string) []ScriptTarget { return []ScriptTarget{{ScriptPython, p}} }
	js := func(ps ...string) []ScriptTarget {
		var out []ScriptTarget
		for _, p := range ps {
			out = append(out, ScriptTarget{ScriptNode, p})
		}
		return out
	}
	tests := []struct {
		command string
		want    []ScriptTarget
	}{
		{"python bad.py", py("bad.py")},
		{"python3 bad.py", py("bad.py")},
		{"  python3.12 -u bad.py arg  ", py("bad.py")},
		{"/usr/bin/python3 ./sub/bad.py", py("./sub/bad.py")},
		{"PYTHON3 Bad.PY", py("Bad.PY")},
		{`python "bad.py"`, py("bad.py")},
		{`python 'my script.py'`, py("my script.py")},
		{`python my\ script.py`, py("my script.py")},
		{"env python bad.py", py("bad.py")},
		{"/usr/bin/env python bad.py", py("bad.py")},
		{"A=1 B=2 python script.py", py("script.py")},
		{"env -i FOO=1 -u BAR python bad.py", py("bad.py")},
		{"env -- python bad.py", py("bad.py")},
		{`/usr/bin/env python "..bad.py" --output out.py`, py("..bad.py")},
		{"python bad.py ghost.py", py("bad.py")},
		{"python script.py --output out.py", py("script.py")},
		{"python -W ignore -X dev bad.py", py("bad.py")},
		{"python -Wignore bad.py", py("bad.py")},
		{"python --check-hash-based-pycs always bad.py", py("bad.py")},
		{"python -- bad.py", py("bad.py")},
		{`python3 "~/bad.py"`, py("~/bad.py")},
		{"python bad.py > out.log 2>&1", py("bad.py")},
		{"python bad.py 2>err.log", py("bad.py")},
		{"python bad.py # run it", py("bad.py")},
		{"node bad.js", js("bad.js")},
		{`node "bad.js"`, js("bad.js")},
		{"env node bad.js", js("bad.js")},
		{"node app.js config.js", js("app.js")},
		{"node --require bootstrap.js app.js", js("bootstrap.js", "app.js")},
		{"node --require bad.js", js("bad.js")},
		{"node --import bad.js", js("bad.js")},
		{`node --require bad.js -e "console.log(123)"`, js("bad.js")},
		{"node -r ./a.js --import=./b.mjs -r./c.cjs main.js", js("./a.js", "./b.mjs", "./c.cjs", "main.js")},
		{"node --inspect -c ok.js", js("ok.js")},
		{"node -- app.js", js("app.js")},
		// No target.
		{"python -c 'print(1)'", nil},
		{"python -Bc 'print(1)' bad.py", nil},
		{"python -m pytest tests/x.py", nil},
		{"python --version", nil},
		{"python", nil},
		{"python - < bad.py", nil},
		{"python notes.txt", nil},
		{`node -e "console.log(123)"`, nil},
		{`node -e "console.log('bad.py')"`, nil},
		{"node -p 1 app.js", nil},
		{"node --version", nil},
		{"python $DIR/bad.py", nil},
		{`python "$DIR/bad.py"`, nil},
		{"python *.py", nil},
		{"python ~/bad.py", nil},
		{"$PY bad.py", nil},
		{"env -C /tmp python bad.py", nil},
		{"env --chdir=/tmp python bad.py", nil},
		{"cat bad.py | python", nil},
		{"cd sub && python bad.py", nil},
		{"python bad.py; echo done", nil},
		{"python bad.py &", nil},
		{"if true; then python bad.py; fi", nil},
		{"if true; then\npython bad.py\nfi", nil},
		{`bash -c "python bad.py"`, nil},
		{"python <(cat bad.py)", nil},
		{"python $(echo bad.py)", nil},
		{"python `echo bad.py`", nil},
		{"python bad.py <<EOF\nx\nEOF", nil},
		{"python 'unterminated.py", nil},
		{"echo python bad.py", nil},
		{"python3x bad.py", nil},
		{"nodejs bad.js", nil},
		{"python bad.py >", nil},
	}
	for _, tt := range tests {
		if got := ScriptTargets(tt.command); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ScriptTargets(%q) = %v, want %v", tt.command, got, tt.want)
		}
	}
}

func TestPreflight(t *testing.T) {
	dir := t.TempDir()
	work := filepath.Join(dir, "work")
	for p, content := range map[string]string{
		"work/bad.py":   "payload = $DM_JSON",
		"work/ok.py":    "print('$HOME')",
		"work/~/bad.py": "payload = $DM_JSON",
		"work/bad.js":   "NODE \"$TMPDIR/hot.json\"",
		"work/ok.js":    "console.log(1)",
		"outside.py":    "payload = $DM_JSON",
	} {
		p = filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var asked []string
	read := func(abs string) ([]byte, bool) {
		asked = append(asked, abs)
		b, err := os.ReadFile(abs)
		return b, err == nil
	}
	const injection = "shell variable $DM_JSON in python script bad.py:1"
	tests := []struct {
		command string
		prefix  string // "" = no error
		asked   []string
	}{
		{"python bad.py", injection, []string{"work/bad.py"}},
		{"python " + filepath.Join(work, "bad.py"), injection, []string{"work/bad.py"}},
		{`python3 "~/bad.py"`, injection, []string{"work/~/bad.py"}},
		{"python ok.py", "", []string{"work/ok.py"}},
		{"python ../outside.py", "", nil},
		{"python " + filepath.Join(dir, "outside.py"), "", nil},
		{"python sub/../../outside.py", "", nil},
		{"python missing.py", "", []string{"work/missing.py"}},
		{"node --require ok.js bad.js", "node script bad.js starts with shell syntax", []string{"work/ok.js", "work/bad.js"}},
		{"node ok.js", "", []string{"work/ok.js"}},
		{"echo bad.py", "", nil},
	}
	for _, tt := range tests {
		asked = nil
		err := Preflight(tt.command, work, read)
		switch {
		case tt.prefix == "" && err != nil:
			t.Errorf("%s: %v", tt.command, err)
		case tt.prefix != "" && (err == nil || err.Error() != tt.prefix):
			t.Errorf("%s: %v, want %q", tt.command, err, tt.prefix)
		}
		var rel []string
		for _, a := range asked {
			r, _ := filepath.Rel(dir, a)
			rel = append(rel, r)
		}
		if !reflect.DeepEqual(rel, tt.asked) {
			t.Errorf("%s: read %v, want %v", tt.command, rel, tt.asked)
		}
	}
}

// FuzzPreflight checks that the Python lexer and the command splitter accept any input: a reference found is at
// its offset, and every script target names a path of a known kind.
func FuzzPreflight(f *testing.F) {
	for _, s := range []string{
		"payload = $A", `result = f"{ "$A" + $P }"`, `f"{lambda v: $F}"`, "text = \"ok\rpayload = $E", `f"{x:{$W}}"`,
		`f"{d[{1: 2}[1]]:>{$N}}"`, "s = f'''{\nx\n}$T'''", `f"{x!r}"`, "x = ${HOME}", `f"{`, `f"{x:`, `f"{{`,
		"python3 -W ignore bad.py 2>&1", `env -u X node --require a.js "b.js"`, "python 'x.py", "a\\\nb",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if token, name, off, found := pythonShellVar(s); found {
			if !strings.HasPrefix(s[off:], token) || !strings.Contains(token, name) || name == "" {
				t.Fatalf("pythonShellVar(%q) = %q %q at %d", s, token, name, off)
			}
		}
		for _, tg := range ScriptTargets(s) {
			if tg.Path == "" || tg.Kind != ScriptPython && tg.Kind != ScriptNode {
				t.Fatalf("ScriptTargets(%q) gave %+v", s, tg)
			}
		}
	})
}
