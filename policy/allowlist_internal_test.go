package policy

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func lit(v string) Word { return Word{Value: v, Literal: true} }

var dyn = Word{}

func call(name Word, args ...Word) SimpleCommand {
	return SimpleCommand{Kind: KindCall, Source: "cmd", Name: name, Args: args}
}

func TestCheckAllowlistEntry(t *testing.T) {
	tests := []struct{ given, expanded, want string }{
		{"git", "git", ""},
		{" git ", "git", ""},
		{"", "", ""},
		{"  ", "  ", ""},
		{"~", "~", ""}, // no slash: a name entry
		{"/usr/bin/*", "/usr/bin/*", ""},
		{"/opt/tools/**", "/opt/tools/**", ""},
		{"/**", "/**", ""},
		{"~/bin/*", "/home/me/bin/*", ""},
		{"bin/tool", "bin/tool", `tools.exec.allowlist: "bin/tool" must be an executable name or an absolute path glob`},
		{"./tool", "./tool", `tools.exec.allowlist: "./tool" must be an executable name or an absolute path glob`},
		{"~/bin/x", "~/bin/x", `tools.exec.allowlist: "~/bin/x" must be an executable name or an absolute path glob`},
		{"~bob/bin/x", "~bob/bin/x", `tools.exec.allowlist: "~bob/bin/x" must be an executable name or an absolute path glob`},
		{"/usr/bin/[", "/usr/bin/[", `tools.exec.allowlist: "/usr/bin/[" is not a valid path glob (syntax error in pattern)`},
	}
	for _, tt := range tests {
		err := CheckAllowlistEntry(tt.given, tt.expanded)
		if got := errText(err); got != tt.want {
			t.Errorf("CheckAllowlistEntry(%q, %q) = %q, want %q", tt.given, tt.expanded, got, tt.want)
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestGlobMatch(t *testing.T) {
	m := newMatcher([]string{"/usr/bin/*", "/opt/tools/**", "/srv/*/bin/**", "/x/a?c", "/y/[ab]*", " ", "rel/x/**"}, "", "/w", nil)
	tests := []struct {
		p    string
		want bool
	}{
		{"/usr/bin/wc", true},
		{"/usr/bin/sub/wc", false}, // * does not cross /
		{"/usr/bin", false},
		{"/opt/tools/x", true},
		{"/opt/tools/a/b/c", true},
		{"/opt/tools", false}, // below the directory only
		{"/opt/toolsx/y", false},
		{"/srv/app/bin/run", true},
		{"/srv/app/bin/deep/run", true},
		{"/srv/app/sbin/run", false},
		{"/x/abc", true},
		{"/x/abbc", false},
		{"/y/alpha", true},
		{"/y/cat", false},
		{"/w/rel/x/y", false}, // relative globs never match
	}
	for _, tt := range tests {
		if got := m.globMatch(tt.p); got != tt.want {
			t.Errorf("globMatch(%q) = %v, want %v", tt.p, got, tt.want)
		}
	}
	if !newMatcher([]string{"/**"}, "", "/", nil).globMatch("/anything/at/all") {
		t.Error("/** must match every absolute path")
	}
}

func TestMatchesNamesAndPaths(t *testing.T) {
	bin := t.TempDir()
	for _, n := range []string{"tool", "other"} {
		if err := os.WriteFile(filepath.Join(bin, n), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(bin, "plain"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(bin, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	m := newMatcher([]string{"echo", bin + "/tool", bin + "/plain", bin + "/dir", "/w/**"}, empty+":"+bin, "/w", nil)
	tests := []struct {
		word string
		want bool
	}{
		{"echo", true},
		{"Echo", false}, // case-sensitive
		{"/bin/echo", false},
		{"./echo", true}, // below /w
		{"tool", true},   // found on PATH after the empty directory
		{"other", false},
		{"plain", false}, // not executable: not found
		{"dir", false},   // a directory is not an executable
		{"missing", false},
		{bin + "/tool", true},
		{"../w/x", true},
		{"../etc/x", false},
	}
	for _, tt := range tests {
		if got := m.matches(tt.word); got != tt.want {
			t.Errorf("matches(%q) = %v, want %v", tt.word, got, tt.want)
		}
	}
	if (&matcher{names: map[string]bool{}, globs: []string{"/**"}}).matches("tool") {
		t.Error("a name is not resolved without PATH")
	}
}

func TestDangerousNames(t *testing.T) {
	for _, n := range []string{"PATH", "path", "LD_PRELOAD", "ld_library_path", "DYLD_X", "BASH_ENV", "ENV", "IFS", "PS4",
		"NODE_OPTIONS", "HOME", "GIT_CONFIG_COUNT", "BASH_FUNC_x", "PROMPT_COMMAND"} {
		if !dangerousName(n) {
			t.Errorf("%s should be dangerous", n)
		}
	}
	for _, n := range []string{"FOO", "A", "PATHX", "LDX", "TERM", "LANG", "i"} {
		if dangerousName(n) {
			t.Errorf("%s should not be dangerous", n)
		}
	}
}

func TestAllowedUnits(t *testing.T) {
	m := newMatcher([]string{"echo", "export", "declare", "local", "nameref", "printf", "read", "wait", "test", "[",
		"getopts", "unset", "readarray"}, "", "/", nil)
	tests := []struct {
		name string
		c    SimpleCommand
		want bool
	}{
		{"listed call", call(lit("echo"), dyn), true},
		{"non-literal word", call(dyn), false},
		{"empty word", call(lit("")), false},
		{"eval unit", SimpleCommand{Kind: KindEval}, false},
		{"unknown kind", SimpleCommand{Kind: 99, Name: lit("echo")}, false},
		{"assign harmless", SimpleCommand{Kind: KindAssign, Assigns: []string{"A", "b"}}, true},
		{"assign PATH", SimpleCommand{Kind: KindAssign, Assigns: []string{"A", "PATH"}}, false},
		{"prefix LD_", SimpleCommand{Kind: KindCall, Name: lit("echo"), Assigns: []string{"LD_AUDIT"}}, false},
		{"decl harmless", SimpleCommand{Kind: KindDecl, Name: lit("export"), Args: []Word{lit("-p")}, Assigns: []string{"A"}}, true},
		{"decl dangerous", SimpleCommand{Kind: KindDecl, Name: lit("export"), Assigns: []string{"NODE_OPTIONS"}}, false},
		{"decl word with =", SimpleCommand{Kind: KindDecl, Name: lit("export"), Args: []Word{lit("PATH+=/x")}}, false},
		{"decl word harmless =", SimpleCommand{Kind: KindDecl, Name: lit("export"), Args: []Word{lit("A=1")}}, true},
		{"decl word odd name", SimpleCommand{Kind: KindDecl, Name: lit("export"), Args: []Word{lit("a[1]=1")}}, false},
		{"decl non-literal", SimpleCommand{Kind: KindDecl, Name: lit("export"), Args: []Word{dyn}}, false},
		{"declare -i", SimpleCommand{Kind: KindDecl, Name: lit("declare"), Args: []Word{lit("-ix")}}, false},
		{"local -n", SimpleCommand{Kind: KindDecl, Name: lit("local"), Args: []Word{lit("-n")}}, false},
		{"declare +i", SimpleCommand{Kind: KindDecl, Name: lit("declare"), Args: []Word{lit("+i")}}, false},
		{"export -n (un-export)", SimpleCommand{Kind: KindDecl, Name: lit("export"), Args: []Word{lit("-n")}}, true},
		{"declare -a", SimpleCommand{Kind: KindDecl, Name: lit("declare"), Args: []Word{lit("-a")}}, true},
		{"nameref", SimpleCommand{Kind: KindDecl, Name: lit("nameref")}, false},
		{"decl not listed", SimpleCommand{Kind: KindDecl, Name: lit("readonly")}, false},
		{"printf none", call(lit("printf")), true},
		{"printf -- -v", call(lit("printf"), lit("--"), lit("-v")), true},
		{"printf -v missing operand", call(lit("printf"), lit("-v")), false},
		{"printf -v numeric name", call(lit("printf"), lit("-v"), lit("1x")), false},
		{"read -a arr", call(lit("read"), lit("-ra"), lit("arr")), true},
		{"read -aPATH", call(lit("read"), lit("-aPATH")), false},
		{"read -d operand not a name", call(lit("read"), lit("-d"), lit("a[$(x)]"), lit("v")), true},
		{"read -- names", call(lit("read"), lit("--"), lit("x"), lit("y")), true},
		{"read dangling option", call(lit("read"), lit("-p")), true},
		{"read numeric arg", call(lit("read"), lit("-t"), Word{Numeric: true}, lit("x")), true},
		{"wait ids", call(lit("wait"), lit("1"), Word{Numeric: true}), true},
		{"wait -n", call(lit("wait"), lit("-n")), true},
		{"wait -p PATH", call(lit("wait"), lit("-p"), lit("PATH")), false},
		{"wait $pid", call(lit("wait"), dyn), false},
		{"getopts", call(lit("getopts"), lit("ab"), lit("opt")), true},
		{"getopts PATH", call(lit("getopts"), lit("ab"), lit("PATH")), false},
		{"getopts short", call(lit("getopts"), lit("ab")), false},
		{"unset -v x", call(lit("unset"), lit("-v"), lit("x")), true},
		{"unset -- PATH", call(lit("unset"), lit("--"), lit("PATH")), false},
		{"unset dyn", call(lit("unset"), dyn), false},
		{"readarray -C", call(lit("readarray"), lit("-tC"), lit("cb")), false},
		{"readarray name", call(lit("readarray"), lit("-t"), lit("lines")), true},
		{"test -R", call(lit("test"), lit("-R"), lit("a[0]")), false},
		{"test ! dyn dyn", call(lit("test"), lit("!"), dyn, dyn), false},
		{"test dyn -a dyn", call(lit("test"), dyn, lit("-a"), dyn), true},
		{"test numeric first", call(lit("test"), Word{Numeric: true}, lit("-gt"), lit("0")), true},
		{"[ dyn ]", call(lit("["), dyn, lit("]")), true},
		{"[ dyn dyn ]", call(lit("["), dyn, dyn, lit("]")), false},
		{"[ ( dyn dyn ) ]", call(lit("["), lit("("), dyn, dyn, lit(")"), lit("]")), false},
	}
	for _, tt := range tests {
		if got := m.allowed(tt.c); got != tt.want {
			t.Errorf("%s: allowed = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestCheckAllowlistOrderAndParseError(t *testing.T) {
	prog := Program{Commands: []SimpleCommand{
		call(lit("echo")),
		{Kind: KindAssign, Source: "X=1", Assigns: []string{"X"}},
		{Kind: KindEval, Source: "$((x))"},
		{Kind: KindCall, Source: "rm x", Name: lit("rm")},
	}}
	err := CheckAllowlist(prog, []string{"echo", "rm"}, "", "/")
	var d *Denial
	if !errors.As(err, &d) || !reflect.DeepEqual(d, &Denial{Rule: RuleAllowlistMiss, Subject: "$((x))"}) {
		t.Fatalf("err = %#v", err)
	}
	if err := CheckAllowlist(Program{}, nil, "", "/"); err != nil {
		t.Fatalf("empty program: %v", err)
	}
	err = CheckAllowlist(Program{ParseErr: errors.New("1:1: bad")}, []string{"echo"}, "", "/")
	if !errors.As(err, &d) || !reflect.DeepEqual(d, &Denial{Rule: RuleUnparsable, Subject: "1:1: bad"}) {
		t.Fatalf("parse error: %#v", err)
	}
	// A program the shell may read differently is denied before the parse error and every unit.
	amb := "line continuation inside a word"
	err = CheckAllowlist(Program{Ambiguous: amb, Commands: []SimpleCommand{call(lit("echo"))}}, []string{"echo"}, "", "/")
	if !errors.As(err, &d) || !reflect.DeepEqual(d, &Denial{Rule: RuleAllowlistMiss, Subject: amb}) {
		t.Fatalf("ambiguous: %#v", err)
	}
	err = CheckAllowlist(Program{Ambiguous: amb, ParseErr: errors.New("1:1: bad")}, []string{"echo"}, "", "/")
	if !errors.As(err, &d) || !reflect.DeepEqual(d, &Denial{Rule: RuleAllowlistMiss, Subject: amb}) {
		t.Fatalf("ambiguous with a parse error: %#v", err)
	}
	err = CheckSecurity("allowlist", nil, []string{"echo"}, nil, "/")
	if !errors.As(err, &d) || !reflect.DeepEqual(d, &Denial{Rule: RuleNoParser}) {
		t.Fatalf("nil parser: %#v", err)
	}
	// An empty allowlist allows only programs without commands.
	if err := CheckAllowlist(Program{Commands: []SimpleCommand{{Kind: KindAssign, Source: "A=1", Assigns: []string{"A"}}}}, nil, "", "/"); err != nil {
		t.Fatalf("assignment only with empty allowlist: %v", err)
	}
}

func TestEnvValue(t *testing.T) {
	if got := envValue([]string{"PATH=/a", "X=1", "PATH=/b", "PATHX=/c", "bad"}, "PATH"); got != "/b" {
		t.Fatalf("envValue = %q", got)
	}
	if got := envValue(nil, "PATH"); got != "" {
		t.Fatalf("envValue(nil) = %q", got)
	}
}
