package tools

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/execmcp/execmcp/policy"
)

// The commands whose scripts the preflight reads (docs/reference.md#script-preflight), parsed as the server parses
// them.
func TestPreflightScriptTargets(t *testing.T) {
	py := func(p string) []policy.ScriptTarget {
		return []policy.ScriptTarget{{Kind: policy.ScriptPython, Path: p}}
	}
	js := func(ps ...string) []policy.ScriptTarget {
		var out []policy.ScriptTarget
		for _, p := range ps {
			out = append(out, policy.ScriptTarget{Kind: policy.ScriptNode, Path: p})
		}
		return out
	}
	tests := []struct {
		command string
		want    []policy.ScriptTarget
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
		{"python bad.py &", py("bad.py")},
		{"time python bad.py", py("bad.py")},
		{"(python bad.py)", py("bad.py")},
		{"{ python bad.py; }", py("bad.py")},
		{"python bad.py | tee log", nil},
		{"python bad.py || true", nil},
		{"if true; then python bad.py; fi", nil},
		{"if true; then\npython bad.py\nfi", nil},
		{`bash -c "python bad.py"`, nil},
		{"python <(cat bad.py)", nil},
		{"python $(echo bad.py)", nil},
		{"python `echo bad.py`", nil},
		{"python bad.py <<EOF\nx\nEOF", py("bad.py")},
		{"python - <<EOF\nprint($X)\nEOF", nil},
		{"python 'unterminated.py", nil},
		{"echo python bad.py", nil},
		{"python3x bad.py", nil},
		{"nodejs bad.js", nil},
		{"python bad.py >", nil},
	}
	for _, tt := range tests {
		if got := policy.ScriptTargets(ParseProgram(tt.command)); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ScriptTargets(%q) = %v, want %v", tt.command, got, tt.want)
		}
	}
}

func TestPreflightReads(t *testing.T) {
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
		err := policy.Preflight(tt.command, func() policy.Program { return ParseProgram(tt.command) }, work, read)
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
