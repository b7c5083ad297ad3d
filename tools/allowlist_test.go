package tools

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/execmcp/execmcp/policy"
)

// unitString renders a unit compactly: kind, source, and for calls the command word (or ? when it is not
// literal) and assigned names.
func unitString(c policy.SimpleCommand) string {
	kind := map[policy.CommandKind]string{policy.KindCall: "call", policy.KindDecl: "decl", policy.KindAssign: "assign", policy.KindEval: "eval"}[c.Kind]
	s := kind + " " + fmt.Sprintf("%q", c.Source)
	if c.Kind == policy.KindCall || c.Kind == policy.KindDecl {
		if c.Name.Literal {
			s += " word=" + c.Name.Value
		} else {
			s += " word=?"
		}
	}
	if len(c.Assigns) > 0 {
		s += " assigns=" + strings.Join(c.Assigns, ",")
	}
	return s
}

func parsedUnits(t *testing.T, command string) []string {
	t.Helper()
	p := ParseProgram(command)
	if p.ParseErr != nil {
		t.Fatalf("%q: parse error %v", command, p.ParseErr)
	}
	out := []string{}
	for _, c := range p.Commands {
		out = append(out, unitString(c))
	}
	return out
}

func TestParseProgramUnits(t *testing.T) {
	tests := []struct {
		command string
		want    []string
	}{
		{"echo ok | tr a-z A-Z", []string{`call "echo ok" word=echo`, `call "tr a-z A-Z" word=tr`}},
		{"a && b || c; d & e\nf", []string{`call "a" word=a`, `call "b" word=b`, `call "c" word=c`, `call "d" word=d`, `call "e" word=e`, `call "f" word=f`}},
		{"echo $(rm -rf x)", []string{`call "echo $(rm -rf x)" word=echo`, `call "rm -rf x" word=rm`}},
		{"echo `a` $(b $(c))", []string{"call \"echo `a` $(b $(c))\" word=echo", `call "a" word=a`, `call "b $(c)" word=b`, `call "c" word=c`}},
		{"$CMD hi", []string{`call "$CMD hi" word=?`}},
		{"$(which rm) x", []string{`call "$(which rm) x" word=?`, `call "which rm" word=which`}},
		{"FOO=1 BAR=2 echo hi", []string{`call "FOO=1 BAR=2 echo hi" word=echo assigns=FOO,BAR`}},
		{"FOO=1", []string{`assign "FOO=1" assigns=FOO`}},
		{"X=$(id) Y=2", []string{`assign "X=$(id) Y=2" assigns=X,Y`, `call "id" word=id`}},
		{"export A=1 B && local -r C=$(d)", []string{`decl "export A=1 B" word=export assigns=A`, `decl "local -r C=$(d)" word=local assigns=C`, `call "d" word=d`}},
		{"(a; { b; }) | c", []string{`call "a" word=a`, `call "b" word=b`, `call "c" word=c`}},
		{"if a; then b; elif c; then d; else e; fi", []string{`call "a" word=a`, `call "b" word=b`, `call "c" word=c`, `call "d" word=d`, `call "e" word=e`}},
		{"while a; do b; done; until c; do d; done", []string{`call "a" word=a`, `call "b" word=b`, `call "c" word=c`, `call "d" word=d`}},
		{"for x in $(a); do b \"$x\"; done", []string{`assign "for x in $(a)" assigns=x`, `call "a" word=a`, `call "b \"$x\"" word=b`}},
		{"case $(a) in b) c;; $(d)) e;; esac", []string{`call "a" word=a`, `call "c" word=c`, `call "d" word=d`, `call "e" word=e`}},
		{"f() { a; }; function g { b; }; f", []string{`call "a" word=a`, `call "b" word=b`, `call "f" word=f`}},
		{"cat <(a) >(b) < <(c)", []string{`call "cat <(a) >(b)" word=cat`, `call "a" word=a`, `call "b" word=b`, `call "c" word=c`}},
		{"> $(a) b 2>&1 < \"$(c)\"", []string{`call "a" word=a`, `call "b" word=b`, `call "c" word=c`}},
		{"cat <<EOF\nx $(a) ${y:-$(b)}\nEOF\n", []string{`call "cat" word=cat`, `call "a" word=a`, `call "b" word=b`}},
		{"cat <<'EOF'\n$(a)\nEOF\n", []string{`call "cat" word=cat`}},
		{"echo $((1 + $(a)))", []string{`call "echo $((1 + $(a)))" word=echo`, `eval "$((1 + $(a)))"`, `call "a" word=a`}},
		{"echo $((1 + 2)) $? ${#x} ${a[0]} ${a[@]} ${x@Q}", []string{`call "echo $((1 + 2)) $? ${#x} ${a[0]} ${a[@]} ${x@Q}" word=echo`}},
		{"[[ $(a) == x && -f $(b) ]]", []string{`call "a" word=a`, `call "b" word=b`}},
		{"[[ $n -lt 3 ]]", []string{`eval "$n -lt 3"`}},
		{"[[ -v x && -v a[1] ]]", []string{`eval "-v a[1]"`}},
		{"(( i++ ))", []string{`eval "(( i++ ))"`}},
		{"let i=1", []string{`call "let i=1" word=let`, `eval "let i=1"`}},
		{"echo ${!x} ${!p*} ${!a[@]} ${x@P} ${s:1:n} ${a[i]}", []string{
			`call "echo ${!x} ${!p*} ${!a[@]} ${x@P} ${s:1:n} ${a[i]}" word=echo`,
			`eval "${!x}"`, `eval "${x@P}"`, `eval "${s:1:n}"`, `eval "${a[i]}"`}},
		{"a[i]=1 b[2]=3", []string{`assign "a[i]=1 b[2]=3" assigns=a,b`, `eval "a[i]=1"`}},
		{"arr=([k]=v [1]=w)", []string{`assign "arr=([k]=v [1]=w)" assigns=arr`, `eval "[k]=v"`}},
		{"echo ${X:=1} ${Y=2} ${Z:-3}", []string{`call "echo ${X:=1} ${Y=2} ${Z:-3}" word=echo`, `assign "${X:=1}" assigns=X`, `assign "${Y=2}" assigns=Y`}},
		{"time a | b", []string{`call "a" word=a`, `call "b" word=b`}},
		{"coproc NAME { a; }", []string{`assign "NAME" assigns=NAME`, `call "a" word=a`}},
		{"! a; a # $(b)", []string{`call "a" word=a`, `call "a" word=a`}},
		{"", []string{}},
		{"# only a comment", []string{}},
		{"> out", []string{}},
	}
	for _, tt := range tests {
		if got := parsedUnits(t, tt.command); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%q:\n got %q\nwant %q", tt.command, got, tt.want)
		}
	}
}

func TestParseProgramWords(t *testing.T) {
	tests := []struct {
		command string
		word    policy.Word
	}{
		{"echo", policy.Word{Value: "echo", Literal: true}},
		{"e'c'ho", policy.Word{Value: "echo", Literal: true}},
		{`ec\ho`, policy.Word{Value: "echo", Literal: true}},
		{"ec\\\nho", policy.Word{Value: "echo", Literal: true}},
		{`"ec"'h'"o"`, policy.Word{Value: "echo", Literal: true}},
		{`"a\"b\$c"`, policy.Word{Value: `a"b$c`, Literal: true}},
		{`$'\x65cho'`, policy.Word{Value: "echo", Literal: true}},
		{`\*`, policy.Word{Value: "*", Literal: true}},
		{`'*'`, policy.Word{Value: "*", Literal: true}},
		{`[`, policy.Word{Value: "[", Literal: true}},
		{`\[`, policy.Word{Value: "[", Literal: true}},
		{"/usr/bin/env", policy.Word{Value: "/usr/bin/env", Literal: true}},
		{"x~y", policy.Word{Value: "x~y", Literal: true}},
		{"'~'/x", policy.Word{Value: "~/x", Literal: true}},
		{"1", policy.Word{Value: "1", Literal: true, Numeric: true}},
		{"e*o", policy.Word{}},
		{"e?o", policy.Word{}},
		{"[e]cho", policy.Word{}},
		{"e{c,x}ho", policy.Word{}},
		{"e}", policy.Word{}},
		{"~/x", policy.Word{}},
		{"~", policy.Word{}},
		{"$x", policy.Word{}},
		{"${x}", policy.Word{}},
		{`"$x"`, policy.Word{}},
		{"$(x)", policy.Word{}},
		{"`x`", policy.Word{}},
		{`$"echo"`, policy.Word{}},
		{"$((1))", policy.Word{}},
		{"@(a|b)", policy.Word{}},
		{"$?", policy.Word{Numeric: true}},
		{`"$#"`, policy.Word{Numeric: true}},
		{"${#x}", policy.Word{Numeric: true}},
	}
	for _, tt := range tests {
		p := ParseProgram(tt.command + " arg")
		if p.ParseErr != nil || len(p.Commands) == 0 {
			t.Errorf("%q: parse %v, %d units", tt.command, p.ParseErr, len(p.Commands))
			continue
		}
		if got := p.Commands[0].Name; got != tt.word {
			t.Errorf("%q: word = %+v, want %+v", tt.command, got, tt.word)
		}
		if args := p.Commands[0].Args; len(args) != 1 || args[0] != (policy.Word{Value: "arg", Literal: true}) {
			t.Errorf("%q: args = %+v", tt.command, args)
		}
	}
}

func TestParseProgramDeclArgs(t *testing.T) {
	p := ParseProgram(`declare -x 'LD_PRELOAD=/x' "$y" B=1 C`)
	if p.ParseErr != nil || len(p.Commands) != 1 {
		t.Fatalf("%+v", p)
	}
	c := p.Commands[0]
	want := []policy.Word{{Value: "-x", Literal: true}, {Value: "LD_PRELOAD=/x", Literal: true}, {}}
	if !reflect.DeepEqual(c.Args, want) || !reflect.DeepEqual(c.Assigns, []string{"B"}) || c.Kind != policy.KindDecl {
		t.Fatalf("args %+v assigns %v", c.Args, c.Assigns)
	}
}

func TestParseProgramErrors(t *testing.T) {
	tests := map[string]string{
		"echo 'x":   "1:6: reached EOF without closing quote `'`",
		"echo $(":   "1:6: reached EOF without matching `$(` with `)`",
		"if true; ": "1:1: `if <cond>` must be followed by `then`",
	}
	for command, want := range tests {
		err := ParseProgram(command).ParseErr
		if err == nil || err.Error() != want {
			t.Errorf("%q: parse error %v, want %q", command, err, want)
		}
	}
}

// A backslash-newline other than a plain continuation between words marks the program ambiguous; its units are
// still listed (for logs and tests), but policy denies it before looking at them.
func TestParseProgramAmbiguous(t *testing.T) {
	for command, want := range map[string]bool{
		"ec\\\nho arg":          true,
		"echo \"$\\\n(id)\"":    true,
		"echo ok # \\\nid":      true, // the parser makes id an argument of echo; the shells run it
		"echo $\\\n((x))":       true, // does not parse: the pair is still reported
		"echo a \\\n b":         false,
		"echo a\t\\\n| cat":     false,
		"echo 'no pair here'\n": false,
	} {
		p := ParseProgram(command)
		if got := p.Ambiguous == textContinuationInWord; got != want {
			t.Errorf("%q: ambiguous = %v (%q), want %v", command, got, p.Ambiguous, want)
		}
		if !want && p.Ambiguous != "" {
			t.Errorf("%q: Ambiguous = %q", command, p.Ambiguous)
		}
	}
	if units := parsedUnits(t, "echo ok # \\\nid"); len(units) != 1 || units[0] != `call "echo ok # \\\nid" word=echo` {
		t.Errorf("units %q", units)
	}
}
