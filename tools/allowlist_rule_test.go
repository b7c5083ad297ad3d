package tools

// End-to-end tests of the allowlist rule (docs/reference.md#allowlist): commands are parsed by ParseProgram (the
// mvdan.cc/sh walker; the policy package itself cannot import a parser), judged by policy.CheckSecurity and the
// denial worded by errorText.

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/execmcp/execmcp/policy"
)

type allowCase struct {
	command string
	// want: "" = runs; otherwise the <command> of `exec denied: allowlist miss (<command>)`, or the whole message
	// when it starts with "exec denied:".
	want string
	why  string
}

// fakeBin creates a directory of executable files (and one non-executable "noexec") for PATH lookups.
func fakeBin(t *testing.T, names ...string) string {
	t.Helper()
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(dir, n), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "noexec"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func runAllowCases(t *testing.T, allowlist []string, pathEnv, workdir string, cases []allowCase) {
	t.Helper()
	env := []string{"HOME=/home/me", "PATH=" + pathEnv}
	for _, c := range cases {
		err := policy.CheckSecurity("allowlist", func() policy.Program { return ParseProgram(c.command) }, allowlist, env, workdir)
		want := c.want
		if want != "" && !strings.HasPrefix(want, "exec denied:") {
			want = "exec denied: allowlist miss (" + want + ")"
		}
		switch {
		case want == "" && err != nil:
			t.Errorf("%q (%s): denied %q, want it to run", c.command, c.why, err)
		case want != "":
			var d *policy.Denial
			if !errors.As(err, &d) {
				t.Errorf("%q (%s): err = %v, want %q", c.command, c.why, err, want)
			} else if got := errorText(err); got != want {
				t.Errorf("%q (%s):\n got %q\nwant %q", c.command, c.why, got, want)
			}
		}
	}
}

// The example table of docs/reference.md#allowlist, row by row.
func TestAllowlistSpecExamples(t *testing.T) {
	if fi, err := os.Stat("/usr/bin/wc"); err != nil || fi.Mode().Perm()&0o111 == 0 {
		t.Skip("/usr/bin/wc is not available")
	}
	cases := []allowCase{
		{"echo ok | tr a-z A-Z", "", "pipeline of listed names"},
		{"echo ok | wc -c", "", "wc resolves to /usr/bin/wc on PATH"},
		{"echo ok | sort", "sort", "sort is not listed"},
		{"echo $(rm -rf x)", "rm -rf x", "command substitution in an argument"},
		{"$CMD hi", "$CMD hi", "non-literal command word"},
		{"FOO=1 echo hi", "", "harmless prefix assignment"},
		{"LD_PRELOAD=/tmp/x.so echo hi", "LD_PRELOAD=/tmp/x.so echo hi", "dangerous prefix assignment"},
		{"export A=1 && echo $A", "export A=1", "declaration clauses are commands; export is not listed"},
		{"echo 'unterminated", "exec denied: allowlist cannot parse command (1:6: reached EOF without closing quote `'`)", "parse error"},
	}
	runAllowCases(t, []string{"echo", "tr", "/usr/bin/wc"}, "/usr/bin:/bin", "/work", cases)
}

// The bypass shapes known from blocklist-based servers, and what an allowlist decides about each.
func TestAllowlistBypassShapes(t *testing.T) {
	bin := fakeBin(t, "wc", "sort", "sh", "env", "xargs", "find", "rm", "touch", "id", "sudo")
	work, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	allow := []string{"echo", "cat", "printf", "[", "test", "read", "export", "declare", "unset", "wait", "mapfile",
		"true", "sleep", bin + "/wc", work + "/**"}
	cases := []allowCase{
		// Command substitution, anywhere.
		{"echo $(touch pwned)", "touch pwned", "$(...) in an argument"},
		{"echo `touch pwned`", "touch pwned", "backticks in an argument"},
		{"`touch pwned`", "`touch pwned`", "backticks as the command word"},
		{"$(echo rm) -rf /", "$(echo rm) -rf /", "$(...) in command position: built at run time"},
		{`"$(echo rm)" -rf /`, `"$(echo rm)" -rf /`, "quoted $(...) in command position"},
		{"echo ${x:-$(touch pwned)}", "touch pwned", "$(...) inside a parameter expansion default"},
		{"echo ${x/a/$(touch pwned)}", "touch pwned", "$(...) inside a replacement"},
		{"echo $((1 + $(id -u)))", "$((1 + $(id -u)))", "arithmetic on a substitution"},
		{"echo $(( $(touch pwned) ))", "$(( $(touch pwned) ))", "arithmetic around a substitution"},
		{"[[ $(touch pwned) ]]", "touch pwned", "$(...) in a test clause"},
		{"[[ -n $(touch pwned) && -f x ]]", "touch pwned", "$(...) in a test clause operand"},
		{"echo hi > $(touch pwned)", "touch pwned", "$(...) in a redirection target"},
		{"cat < <(touch pwned)", "touch pwned", "process substitution in a redirection"},
		{"cat <(touch pwned)", "touch pwned", "input process substitution"},
		{"echo ok > >(touch pwned)", "touch pwned", "output process substitution"},
		{"cat <<EOF\n$(touch pwned)\nEOF", "touch pwned", "here-document with a substitution"},
		{"cat <<EOF\n${x:-`touch pwned`}\nEOF", "touch pwned", "here-document with backticks in an expansion"},
		{"cat <<'EOF'\n$(touch pwned)\nEOF", "", "quoted here-document: no expansion"},
		{"a[$(touch pwned)]=1", "a[$(touch pwned)]=1", "$(...) in an array subscript (the subscript itself is evaluated first)"},
		{"x=$(touch pwned)", "touch pwned", "$(...) in an assignment"},
		{"echo ok # $(touch pwned)", "", "comment"},
		{"case x in $(touch pwned)) echo;; esac", "touch pwned", "$(...) in a case pattern"},
		{"for f in $(touch pwned); do echo $f; done", "touch pwned", "$(...) in a for list"},

		// Lists, pipelines, newlines, compound commands.
		{"echo ok\ntouch pwned", "touch pwned", "newline separates commands"},
		{"echo ok; touch pwned", "touch pwned", "semicolon"},
		{"echo ok && touch pwned", "touch pwned", "and-list"},
		{"false || touch pwned", "false", "or-list (false is not listed)"},
		{"echo ok & touch pwned", "touch pwned", "background list"},
		{"echo ok | touch pwned", "touch pwned", "pipeline"},
		{"echo ok |& touch pwned", "touch pwned", "stderr pipeline"},
		{"(touch pwned)", "touch pwned", "subshell"},
		{"{ touch pwned; }", "touch pwned", "block"},
		{"if true; then touch pwned; fi", "touch pwned", "if body"},
		{"while true; do touch pwned; done", "touch pwned", "while body"},
		{"time touch pwned", "touch pwned", "time keyword"},
		{"! touch pwned", "touch pwned", "negation"},
		{"coproc touch pwned", "touch pwned", "coproc"},
		{"f() { touch pwned; }; f", "touch pwned", "function body"},
		{"f() { echo ok; }; f", "f", "calling a function is a miss unless its name is listed"},

		// Quoting, escaping and globbing tricks on the command word.
		{"e'c'ho ok", "", "quotes are removed: this is echo"},
		{`ec\ho ok`, "", "a backslash is removed: this is echo"},
		{`"ec"'h'o ok`, "", "mixed quotes: this is echo"},
		{`$'\x65cho' ok`, "", "ANSI-C quoting: this is echo"},
		{"r'm' -rf x", "r'm' -rf x", "quotes do not hide rm"},
		{`\rm -rf x`, `\rm -rf x`, "escaped rm is rm"},
		{"/bin/e*o ok", "/bin/e*o ok", "unquoted glob in the command word"},
		{"ech? ok", "ech? ok", "unquoted ? in the command word"},
		{"/bin/[e]cho ok", "/bin/[e]cho ok", "bracket glob"},
		{"e{cho,x} ok", "e{cho,x} ok", "brace expansion in the command word"},
		{"~/bin/tool", "~/bin/tool", "tilde expansion in the command word"},
		{`$"echo" ok`, `$"echo" ok`, "locale-translated string"},
		{"'/bin/e*o' ok", "'/bin/e*o' ok", "a quoted path with * names no listed file"},

		// Absolute and relative paths.
		{"/bin/rm -rf x", "/bin/rm -rf x", "absolute path not listed"},
		{bin + "/wc -l f", "", "absolute path matching the path glob"},
		{bin + "/../" + filepath.Base(bin) + "/wc -l f", "", "cleaned before matching"},
		{bin + "/sort f", bin + "/sort f", "same directory, other file"},
		{"wc -l f", "", "bare name resolved on PATH to the path glob"},
		{"sort f", "sort f", "bare name resolved on PATH, not listed"},
		{"missing-tool", "missing-tool", "not on PATH"},
		{"./script.sh", "", "relative path inside the workdir glob"},
		{"sub/dir/script.sh", "", "relative path below the workdir"},
		{"../script.sh", "../script.sh", "relative path leaving the workdir"},
		{"cd /tmp && ./evil", "cd /tmp", "cd is not listed"},

		// Wrappers: not listed means denied; their arguments are never inspected (see TestAllowlistWrappers).
		{"sh -c 'touch pwned'", "sh -c 'touch pwned'", "sh -c"},
		{"bash -c 'touch pwned'", "bash -c 'touch pwned'", "bash -c"},
		{"env -S 'touch pwned'", "env -S 'touch pwned'", "env -S"},
		{"env touch pwned", "env touch pwned", "env wrapper"},
		{"echo pwned | xargs touch", "xargs touch", "xargs"},
		{`find . -exec touch {} \;`, `find . -exec touch {} \;`, "find -exec"},
		{"eval 'touch pwned'", "eval 'touch pwned'", "eval"},
		{`eval "$(echo touch pwned)"`, `eval "$(echo touch pwned)"`, "eval of a substitution"},
		{"exec touch pwned", "exec touch pwned", "exec"},
		{"command touch pwned", "command touch pwned", "command"},
		{"builtin eval x", "builtin eval x", "builtin"},
		{"sudo touch pwned", "sudo touch pwned", "sudo"},
		{". ./evil.sh", ". ./evil.sh", "source"},
		{"source ./evil.sh", "source ./evil.sh", "source"},
		{"trap 'touch pwned' EXIT", "trap 'touch pwned' EXIT", "trap"},

		// Assignments.
		{"LD_PRELOAD=/tmp/x.so cat f", "LD_PRELOAD=/tmp/x.so cat f", "loader variable prefix"},
		{"PATH=/tmp/evil cat f", "PATH=/tmp/evil cat f", "PATH prefix"},
		{"BASH_ENV=/tmp/x cat f", "BASH_ENV=/tmp/x cat f", "blocked variable prefix"},
		{"PATH=/tmp/evil; wc f", "PATH=/tmp/evil", "assignment-only PATH"},
		{"IFS=/; cat f", "IFS=/", "assignment-only IFS"},
		{"FOO=bar; echo $FOO", "", "harmless assignment"},
		{"export PATH=/tmp/evil:$PATH", "export PATH=/tmp/evil:$PATH", "export PATH"},
		{"export A=1 B=2", "", "export is listed, harmless names"},
		{"export PATH", "", "exporting without a value assigns nothing"},
		{"declare -x 'LD_PRELOAD=/x.so'", "declare -x 'LD_PRELOAD=/x.so'", "quoted assignment word"},
		{`export "$X"`, `export "$X"`, "a word that may expand to an assignment"},
		{"declare -n r=x", "declare -n r=x", "nameref attribute"},
		{"declare -i n=x", "declare -i n=x", "integer attribute"},
		{"for PATH in /tmp/evil; do wc f; done", "for PATH in /tmp/evil", "a for loop assigns its variable"},
		{"echo ${LD_PRELOAD:=/x.so}", "${LD_PRELOAD:=/x.so}", "assigning default value"},

		// Arithmetic and other run-time evaluation (bash evaluates variable values as code there).
		{"x='a[$(touch pwned)]'; echo $((x))", "$((x))", "arithmetic on a variable"},
		{"echo $(($X))", "$(($X))", "arithmetic on an expansion"},
		{"(( x ))", "(( x ))", "arithmetic command"},
		{"for ((i=0; i<3; i++)); do echo $i; done", "((i=0; i<3; i++))", "C-style for"},
		{"[[ $x -eq 1 ]]", "$x -eq 1", "test clause arithmetic"},
		{"[[ x -gt 1 ]]", "x -gt 1", "test clause arithmetic on a bare name"},
		{"[[ -v 'a[$(touch pwned)]' ]]", "-v 'a[$(touch pwned)]'", "test clause -v subscript"},
		{"echo ${a[i]}", "${a[i]}", "array subscript"},
		{"echo ${s:x}", "${s:x}", "substring offset"},
		{"echo ${!x}", "${!x}", "indirect expansion"},
		{"echo ${x@P}", "${x@P}", "prompt expansion"},
		{"let x=1", "let x=1", "let is not listed"},
		{"echo $((1 + 2)) ${#x} ${a[0]} ${a[@]} ${!a[@]} $? ${x@Q}", "", "numbers only"},
		{"[[ $? -eq 0 && $# -gt 1 ]]", "", "special numeric parameters"},

		// Builtins that take variable names.
		{"printf -v 'a[$(touch pwned)]' x", "printf -v 'a[$(touch pwned)]' x", "printf -v subscript"},
		{"printf -vPATH x", "printf -vPATH x", "printf -v PATH"},
		{`printf $fmt x`, `printf $fmt x`, "first printf word may expand to -v"},
		{`printf '%s\n' "$x" $(( 1 ))`, "", "ordinary printf"},
		{"printf -v out '%s' x", "", "printf -v plain name"},
		// printf takes -v more than once, and every option before the format: found by FuzzAllowlistExecutes.
		{"printf -vrintf -v 'a[$(touch pwned)]' x", "printf -vrintf -v 'a[$(touch pwned)]' x", "a second -v"},
		{"printf -v x -v 'a[$(touch pwned)]' y", "printf -v x -v 'a[$(touch pwned)]' y", "a second separate -v"},
		{"printf -v x $opt 'a[$(touch pwned)]' y", "printf -v x $opt 'a[$(touch pwned)]' y", "a word after -v may expand to -v"},
		{"printf -x y", "printf -x y", "an option printf does not take"},
		{"printf -v x -- -v y", "", "after -- every word is an operand"},
		{"printf - x", "", "a lone dash is the format"},
		{"read -r line", "", "read into a plain name"},
		{"read 'a[$(touch pwned)]'", "read 'a[$(touch pwned)]'", "read subscript"},
		{"read PATH", "read PATH", "read into PATH"},
		{`read -p "$prompt" x`, `read -p "$prompt" x`, "read words must be literal"},
		{"mapfile -C 'touch pwned' -c 1 arr < f", "mapfile -C 'touch pwned' -c 1 arr", "mapfile callback"},
		{"mapfile -t lines < f", "", "plain mapfile"},
		{"unset PATH", "unset PATH", "unset PATH"},
		{"unset 'a[$(touch pwned)]'", "unset 'a[$(touch pwned)]'", "unset subscript"},
		{"unset -f myfunc", "", "unset a function"},
		{"wait -p 'a[$(touch pwned)]'", "wait -p 'a[$(touch pwned)]'", "wait -p subscript"},
		{"sleep 1 & wait $!", "", "wait for the last background job"},
		{"[ -v 'a[$(touch pwned)]' ]", "[ -v 'a[$(touch pwned)]' ]", "[ -v subscript"},
		{`[ "$op" "$x" ]`, `[ "$op" "$x" ]`, "a word that may become -v"},
		{`[ -n "$x" ] && [ "$a" = "$b" ] && test -f "$f"`, "", "ordinary tests"},
		{`[ -z "$x" -o -f "$y" ]`, "", "or-ed tests"},
	}
	runAllowCases(t, allow, bin+":/usr/bin:/bin", work, cases)
}

// Allowlisting a program that runs other programs allows anything through it: its arguments are not inspected
// (the documented limit of docs/reference.md#allowlist).
func TestAllowlistWrappers(t *testing.T) {
	allow := []string{"sh", "bash", "env", "xargs", "find", "eval", "sudo", "echo", "python3"}
	cases := []allowCase{
		{"sh -c 'touch pwned'", "", "sh is listed"},
		{"bash -c 'rm -rf ~'", "", "bash is listed"},
		{"env -S 'touch pwned'", "", "env is listed"},
		{"echo pwned | xargs touch", "", "xargs is listed"},
		{`find . -exec touch {} \;`, "", "find is listed"},
		{"eval 'touch pwned'", "", "eval is listed"},
		{"sudo touch pwned", "", "sudo is listed"},
		{"python3 -c 'import os; os.system(\"touch pwned\")'", "", "interpreter is listed"},
		{"sh -c \"$(touch pwned)\"", "touch pwned", "substitutions in the wrapper's own arguments are still walked"},
	}
	runAllowCases(t, allow, "/usr/bin:/bin", "/work", cases)
}

// With cd in the program, relative command paths and relative PATH entries cannot be resolved statically.
func TestAllowlistChangingDirectory(t *testing.T) {
	work, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(work, "tool"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	allow := []string{"cd", "echo", work + "/**"}
	cases := []allowCase{
		{"./tool", "", "no cd: relative to the workdir"},
		{"cd /tmp && ./tool", "./tool", "after cd the relative path is unknown"},
		{"(cd sub); ./tool", "./tool", "any cd counts"},
		{"cd sub && " + work + "/tool", "", "absolute paths still match"},
		{"tool", "", "relative PATH entry resolved against the workdir"},
		{"cd /tmp; tool", "tool", "relative PATH entry after cd"},
	}
	runAllowCases(t, allow, ".:/usr/bin", work, cases)
}

func TestAllowlistMissTextCollapsedAndTruncated(t *testing.T) {
	long := "rm   -rf\t" + strings.Repeat("x", 300)
	err := policy.CheckSecurity("allowlist", func() policy.Program { return ParseProgram("echo ok; " + long) },
		[]string{"echo"}, nil, "/")
	collapsed := "rm -rf " + strings.Repeat("x", 300)
	want := "exec denied: allowlist miss (" + collapsed[:98] + "..." + collapsed[len(collapsed)-98:] + ")"
	if err == nil || errorText(err) != want {
		t.Fatalf("got %v\nwant %q", err, want)
	}
	err = policy.CheckSecurity("allowlist", func() policy.Program { return ParseProgram("ls \\\n  -l\n") },
		[]string{"echo"}, nil, "/")
	if err == nil || errorText(err) != `exec denied: allowlist miss (ls \ -l)` {
		t.Fatalf("got %v", err)
	}
}

// A backslash-newline is judged as the shell reads it (docs/reference.md#allowlist): bash and dash remove it
// before they split words, so only a plain line continuation between words (after a blank, outside every word,
// comment, here-document body and arithmetic or test clause) is parsed alike; every other one denies the whole
// command, whatever comes first in it.
func TestAllowlistLineContinuation(t *testing.T) {
	const cont = textContinuationInWord
	allow := []string{"echo", "cat", "printf", "true", "[", "test"}
	cases := []allowCase{
		// The forms that ran a command through an allowlist of echo (bash, dash, host and sandbox).
		{"echo \"$\\\n(touch m; id)\"", cont, "$( split in a double-quoted word"},
		{"echo $\\\n(touch m)", cont, "$( split in an unquoted word"},
		{"x='a[$(touch m)]'; echo $\\\n((x))", cont, "$(( split: arithmetic on a variable"},
		{"x='$(touch m)'; echo $\\\n{x@P}", cont, "${x@P} split"},
		{"x='a[$(touch m)]'; echo $\\\n{!x}", cont, "${!x} split"},
		{"echo ${x:-$\\\n(touch m)}", cont, "inside ${x:-...}"},
		{"echo \"${x:-$\\\n(touch m)}\"", cont, "inside a double-quoted ${x:-...}"},
		{"echo `echo $\\\n(touch m)`", cont, "inside backquotes"},
		{"echo `touch\\\n m`", cont, "a backquoted command split"},
		{"case $\\\n(touch m) in x) ;; esac", cont, "case word"},
		{"case x in $\\\n(touch m)) ;; esac", cont, "case pattern"},
		{"cat <<E\n$\\\n(touch m)\nE", cont, "unquoted here-document body"},
		{"cat <<E\nE\\\n\ntouch m\nE", cont, "bash joins the delimiter line of an unquoted here-document"},
		{"echo $\\\n\"hello\"", cont, "$\" split: a translated string"},
		// Every other backslash-newline, harmless or not.
		{"ec\\\nho hi", cont, "inside a command word"},
		{"echo a\\\nb", cont, "inside an argument"},
		{"echo 'a\\\nb'", cont, "inside single quotes"},
		{"echo $'a\\\nb'", cont, "inside ANSI-C quotes"},
		{"echo \"a \\\nb\"", cont, "inside double quotes, after a blank"},
		{"cat <<'E'\nx \\\nE\nE", cont, "quoted here-document body"},
		{"echo ok # \\\ntouch m", cont, "in a comment (the shell does not continue it)"},
		{"echo \\\\\ntouch m", cont, "an escaped backslash before a newline"},
		{"\\\necho hi", cont, "at the start"},
		{"echo hi;\\\necho ho", cont, "after an operator: it may join the next one"},
		{"echo hi &\\\n& echo ho", cont, "joins && "},
		{"echo hi >\\\n> f", cont, "joins >>"},
		{"cat <\\\n(touch m)", cont, "joins a process substitution"},
		{"echo\t\\\n\\\nhi", cont, "a second pair right after the first"},
		{"(( 1 + \\\n 2 ))", cont, "in an arithmetic command"},
		{"[[ a == a \\\n ]]", cont, "in a test clause"},
		{"touch m; echo $\\\n(x)", cont, "the continuation is reported before any unit"},
		{"echo $\\\n((x))", cont, "a command that does not parse because the parser kept the pair in $(("},
		// Plain line continuations between words run.
		{"echo a \\\n b", "", "between arguments"},
		{"echo a \\\nb", "", "before an argument at the start of the next line"},
		{"echo a\t\\\nb", "", "after a tab"},
		{"echo a \\\n  b \\\n  c", "", "several"},
		{"echo a | \\\n cat && \\\n true", "", "after operators, with a blank"},
		{"echo a \\\n | cat", "", "before an operator"},
		{"if true; then \\\n echo a; fi", "", "in a compound command"},
		{"for x in a \\\n b; do echo $x; done", "", "in a for list"},
		{"x=1 \\\n echo a", "", "after an assignment"},
		{"echo a \\\n \"$(touch m)\"", "touch m", "the rest is judged as usual"},
		{"echo a \\\n 'x \\\n", "exec denied: allowlist cannot parse command (2:2: reached EOF without closing quote `'`)", "a parse error after a plain continuation stays one"},
	}
	runAllowCases(t, allow, "/usr/bin:/bin", "/work", cases)
}

// A $"..." string is looked up in a message catalogue the command can write, and the translation is expanded
// again: in allowlist mode it is code evaluation, wherever it is (docs/reference.md#allowlist).
func TestAllowlistTranslation(t *testing.T) {
	allow := []string{"echo", "cat", "printf", "true"}
	cases := []allowCase{
		{`echo $"hello"`, `$"hello"`, "a translated argument"},
		// The env policy blocks TEXTDOMAIN and TEXTDOMAINDIR, so the assignments already make the unit a miss.
		{`TEXTDOMAIN=t TEXTDOMAINDIR=. echo $"hello"`, `TEXTDOMAIN=t TEXTDOMAINDIR=. echo $"hello"`, "with inline domain assignments"},
		{`x=$"hello"`, `$"hello"`, "in an assignment"},
		{`echo "${x:-$"hello"}"`, `$"hello"`, "in a default inside double quotes"},
		{"echo \"`echo $\"hello\"`\"", `$"hello"`, "in backquotes inside double quotes"},
		{`echo "$(echo $"hello")"`, `$"hello"`, "in a command substitution"},
		{`case $"hello" in x) ;; esac`, `$"hello"`, "as a case word"},
		{`[[ $"hello" ]]`, `$"hello"`, "in a test clause"},
		{`a=([0]=$"hello")`, `$"hello"`, "in an array element"},
		{`printf '%s' $"a $(touch m) b"`, `$"a $(touch m) b"`, "the string itself comes first"},
		{`echo "$"hello""`, "", "inside double quotes $\" is not a translation"},
		{`echo '$"hello"'`, "", "single-quoted"},
		{"cat <<E\n$\"hello\"\nE", "", "not translated in a here-document"},
		{`echo \$"hello"`, "", "escaped dollar"},
	}
	runAllowCases(t, allow, "/usr/bin:/bin", "/work", cases)
}
