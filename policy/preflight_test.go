package policy

import (
	"errors"
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

// FuzzPythonShellVar checks that the Python lexer accepts any input and that a reference it finds is at its
// offset, names its NAME and is one of the two forms.
func FuzzPythonShellVar(f *testing.F) {
	for _, s := range []string{
		"payload = $A", `result = f"{ "$A" + $P }"`, `f"{lambda v: $F}"`, "text = \"ok\rpayload = $E", `f"{x:{$W}}"`,
		`f"{d[{1: 2}[1]]:>{$N}}"`, "s = f'''{\nx\n}$T'''", `f"{x!r}"`, "x = ${HOME}", `f"{`, `f"{x:`, `f"{{`,
		"a = '''$x''' + \"\\\"$y\" + $Z", "# $A\r$B", `r'\\' $C`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if token, name, off, found := pythonShellVar(s); found {
			if !strings.HasPrefix(s[off:], token) || name == "" || token != "$"+name && token != "${"+name+"}" {
				t.Fatalf("pythonShellVar(%q) = %q %q at %d", s, token, name, off)
			}
		}
	})
}

// ScriptTargets judges the parsed program: one call unit with literal words (tools' table test parses real
// commands).
func TestScriptTargetsProgram(t *testing.T) {
	lit := func(vs ...string) []Word {
		var ws []Word
		for _, v := range vs {
			ws = append(ws, Word{Value: v, Literal: true})
		}
		return ws
	}
	call := func(name string, args ...string) SimpleCommand {
		return SimpleCommand{Kind: KindCall, Name: lit(name)[0], Args: lit(args...)}
	}
	one := func(c SimpleCommand) Program { return Program{Commands: []SimpleCommand{c}} }
	tests := []struct {
		name string
		prog Program
		want []ScriptTarget
	}{
		{"python", one(call("python3", "bad.py")), []ScriptTarget{{ScriptPython, "bad.py"}}},
		{"env", one(call("/usr/bin/env", "-u", "X", "A=1", "--", "B=2", "node", "-r", "p.js", "a.js")),
			[]ScriptTarget{{ScriptNode, "p.js"}, {ScriptNode, "a.js"}}},
		{"two units", Program{Commands: []SimpleCommand{call("cd", "x"), call("python", "bad.py")}}, nil},
		{"parse error", Program{ParseErr: errTest, Commands: []SimpleCommand{call("python", "bad.py")}}, nil},
		{"ambiguous", Program{Ambiguous: "x", Commands: []SimpleCommand{call("python", "bad.py")}}, nil},
		{"not a call", one(SimpleCommand{Kind: KindEval}), nil},
		{"expanding operand", one(SimpleCommand{Kind: KindCall, Name: lit("python")[0], Args: []Word{{Value: "$F"}}}), nil},
		{"expanding command", one(SimpleCommand{Kind: KindCall, Name: Word{Value: "$PY"}, Args: lit("bad.py")}), nil},
		{"expanding env option", one(SimpleCommand{Kind: KindCall, Name: lit("env")[0], Args: []Word{{Value: "$O"}, {Value: "python", Literal: true}}}), nil},
		{"env -C", one(call("env", "-C", "/tmp", "python", "bad.py")), nil},
	}
	for _, tt := range tests {
		if got := ScriptTargets(tt.prog); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	// Preflight parses only a command that names an interpreter.
	parsed := false
	parse := func() Program { parsed = true; return Program{} }
	if err := Preflight("ls -la", parse, "/w", nil); err != nil || parsed {
		t.Errorf("ls: err %v, parsed %v", err, parsed)
	}
	if err := Preflight("Python3 x.py", parse, "/w", nil); err != nil || !parsed {
		t.Errorf("Python3: err %v, parsed %v", err, parsed)
	}
}

var errTest = errors.New("test")
