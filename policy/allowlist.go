package policy

import (
	"fmt"
	"os"
	"path"
	"regexp"
	"strings"
)

// The allowlist rule (docs/reference.md#allowlist) needs a shell parser; this package does not import one (it uses
// the standard library only). tools/ parses the command with mvdan.cc/sh/v3, walks the whole syntax tree and hands
// the result over as a Program: plain data describing every unit the allowlist judges, in source order. This file
// decides on that data.

// CommandKind says what a SimpleCommand stands for.
type CommandKind uint8

const (
	// KindCall is a call expression with at least one argument word: Name is its command word, Args the words
	// after it, Assigns the names of its prefix assignments (FOO=1 cmd).
	KindCall CommandKind = iota
	// KindDecl is a declaration clause (export, local, declare, typeset, readonly, nameref): Name is the
	// keyword, Args its flag words and the words that are not syntactically assignments (`export "$x"`),
	// Assigns the names it assigns a value to.
	KindDecl
	// KindAssign is a command that only assigns (`FOO=1`, the variable of a for loop, `${X:=v}`): Assigns
	// holds the names. It is not a command of its own; only its assignments are judged (see dangerousName).
	KindAssign
	// KindEval is a construct that makes the shell evaluate text as code at run time, which no allowlist entry
	// can vouch for (see Reason). It always misses.
	KindEval
)

// Word is one word of a command as the parser saw it.
type Word struct {
	// Value is the text after quote removal; meaningful only when Literal is true.
	Value string
	// Literal: the word is made only of literal text and quotes, without expansions, without unquoted
	// `{`, `}`, `*`, `?`, `[` and without a leading unquoted `~`: only such a word can be matched against an
	// entry, since anything else may expand to another program at run time.
	Literal bool
	// Numeric: the word always expands to an integer whatever the environment holds: a numeric literal, a
	// special parameter `$?`, `$#`, `$$`, `$!`, or a length `${#name}`.
	Numeric bool
}

// SimpleCommand is one unit the allowlist judges: every unit of a program must be allowed for it to run.
type SimpleCommand struct {
	Kind CommandKind
	// Source is the unit's source text, as written; a RuleAllowlistMiss denial names it.
	Source string
	// Name is the command word (KindCall) or the keyword (KindDecl).
	Name Word
	// Args are the words after the command word (KindCall) or the non-assignment words (KindDecl).
	Args []Word
	// Assigns are the names of the variables the unit assigns a value to.
	Assigns []string
	// Reason explains a KindEval unit (for tests and logs; not shown to the caller).
	Reason string
}

// Program is a parsed exec command: the parse error, or every unit in source order.
type Program struct {
	// ParseErr is why the command does not parse (its message, such as "1:6: reached EOF without closing quote
	// `'`", is shown to the caller); nil when it parsed.
	ParseErr error
	// Ambiguous, when not empty, says why the units may not be the program the shell runs: the command holds a
	// construct the shell reads differently from the parser (a backslash-newline inside a word, which the shell
	// removes before it splits words). The parser words it; CheckAllowlist denies such a program as an
	// allowlist miss with this subject, before the parse error and any unit (it may be set with ParseErr, when the
	// parser failed on what the shell would have joined).
	Ambiguous string
	Commands  []SimpleCommand
}

// CheckAllowlist applies the allowlist rule (docs/reference.md#allowlist) to a parsed program. allowlist
// holds the configured entries (validated and ~-expanded at startup, see CheckAllowlistEntry), pathEnv the
// value of PATH in the assembled environment of the call and workdir its resolved absolute working directory.
//
// It returns nil when every unit matches, else a *Denial: RuleAllowlistMiss naming the source of the first unit
// (in source order) that misses, or naming Program.Ambiguous for a program the shell may read differently (checked
// first), or RuleUnparsable with the parser's message.
//
// Resolving a bare name on PATH reads the file system (stat); nothing is executed.
func CheckAllowlist(prog Program, allowlist []string, pathEnv, workdir string) error {
	if prog.Ambiguous != "" {
		return &Denial{Rule: RuleAllowlistMiss, Subject: prog.Ambiguous}
	}
	if prog.ParseErr != nil {
		return &Denial{Rule: RuleUnparsable, Subject: prog.ParseErr.Error()}
	}
	m := newMatcher(allowlist, pathEnv, workdir, prog.Commands)
	for _, c := range prog.Commands {
		if !m.allowed(c) {
			return &Denial{Rule: RuleAllowlistMiss, Subject: c.Source}
		}
	}
	return nil
}

// CheckAllowlistEntry checks one allowlist entry at startup, after ~ expansion: nil when it is usable (blank, a
// name entry, or an absolute path glob with valid path.Match syntax), else an error whose message names the
// entry as given (configured) and is meant for the operator.
func CheckAllowlistEntry(given, expanded string) error {
	e := strings.TrimSpace(expanded)
	if e == "" || !strings.Contains(e, "/") {
		return nil
	}
	if !strings.HasPrefix(e, "/") {
		return fmt.Errorf("tools.exec.allowlist: %q must be an executable name or an absolute path glob", strings.TrimSpace(given))
	}
	if _, err := path.Match(globPrefix(e), "/"); err != nil {
		return fmt.Errorf("tools.exec.allowlist: %q is not a valid path glob (%w)", strings.TrimSpace(given), err)
	}
	return nil
}

// globPrefix returns the pattern a "/**" entry matches ancestors with, or the entry itself.
func globPrefix(e string) string {
	if p, ok := strings.CutSuffix(e, "/**"); ok {
		if p == "" {
			return "/"
		}
		return p
	}
	return e
}

type matcher struct {
	names   map[string]bool
	globs   []string
	pathEnv string
	workdir string
	// movesCwd: the program contains cd, pushd or popd, so relative paths cannot be resolved statically.
	movesCwd bool
}

func newMatcher(allowlist []string, pathEnv, workdir string, cmds []SimpleCommand) *matcher {
	m := &matcher{names: map[string]bool{}, pathEnv: pathEnv, workdir: workdir}
	for _, e := range allowlist {
		e = strings.TrimSpace(e)
		switch {
		case e == "":
		case !strings.Contains(e, "/"):
			m.names[e] = true
		case strings.HasPrefix(e, "/"):
			m.globs = append(m.globs, e)
		default:
			// A relative path glob is refused at startup; never matching keeps this fail-closed.
		}
	}
	for _, c := range cmds {
		if c.Kind == KindCall && c.Name.Literal {
			switch c.Name.Value {
			case "cd", "pushd", "popd":
				m.movesCwd = true
			}
		}
	}
	return m
}

func (m *matcher) allowed(c SimpleCommand) bool {
	switch c.Kind {
	case KindAssign:
		return !anyDangerous(c.Assigns)
	case KindCall, KindDecl:
		if !c.Name.Literal || c.Name.Value == "" || anyDangerous(c.Assigns) {
			return false
		}
		if !m.matches(c.Name.Value) {
			return false
		}
		if c.Kind == KindDecl {
			return declArgsSafe(c.Name.Value, c.Args)
		}
		return builtinArgsSafe(c.Name.Value, c.Args)
	default:
		return false
	}
}

// matches reports whether a literal command word matches an entry: a word without a slash matches a name
// entry, or a path glob through its resolution on the call's PATH; a word with a slash matches a path glob,
// relative to the workdir.
func (m *matcher) matches(word string) bool {
	if !strings.Contains(word, "/") {
		if m.names[word] {
			return true
		}
		if len(m.globs) == 0 {
			return false
		}
		exe := m.lookPath(word)
		return exe != "" && m.globMatch(exe)
	}
	if len(m.globs) == 0 {
		return false
	}
	p := word
	if !strings.HasPrefix(p, "/") {
		if m.movesCwd {
			return false // relative to a directory only known at run time
		}
		p = m.workdir + "/" + p
	}
	return m.globMatch(path.Clean(p))
}

func (m *matcher) globMatch(p string) bool {
	for _, g := range m.globs {
		if prefix, ok := strings.CutSuffix(g, "/**"); ok {
			if prefix == "" {
				prefix = "/"
			}
			for dir := path.Dir(p); ; dir = path.Dir(dir) {
				if ok, _ := path.Match(prefix, dir); ok {
					return true
				}
				if dir == "/" {
					break
				}
			}
			continue
		}
		if ok, _ := path.Match(g, p); ok {
			return true
		}
	}
	return false
}

// lookPath finds name the way the shell does on the call's PATH: the first directory holding an executable
// regular file of that name. Empty and relative entries are relative to the workdir (the shell searches them
// relative to its cwd); when the program changes directory they make the name unresolvable. "" = not found.
func (m *matcher) lookPath(name string) string {
	if m.pathEnv == "" {
		return ""
	}
	for _, dir := range strings.Split(m.pathEnv, ":") {
		if dir == "" {
			dir = "."
		}
		if !strings.HasPrefix(dir, "/") {
			if m.movesCwd {
				return ""
			}
			dir = m.workdir + "/" + dir
		}
		p := path.Clean(dir + "/" + name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// dangerousName reports whether assigning the variable could make an allowed program load other code: PATH or
// a key the env policy refuses as an override (docs/reference.md#env-policy).
func dangerousName(name string) bool {
	u := strings.ToUpper(name)
	return u == "PATH" || envLists().overrideBlocked(u)
}

func anyDangerous(names []string) bool {
	for _, n := range names {
		if dangerousName(n) {
			return true
		}
	}
	return false
}

var plainName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// safeName: a variable name operand of a builtin must be a literal plain name (no array subscript: bash
// evaluates subscripts, and a subscript can hold a command substitution) that is not dangerous.
func safeName(w Word) bool {
	return w.Literal && plainName.MatchString(w.Value) && !dangerousName(w.Value)
}

// declArgsSafe judges the non-assignment words of a declaration clause. A non-literal word may expand to an
// assignment (`export "$x"` with x=PATH=/tmp); a literal word with "=" is one (`export 'PATH=/x'`). The
// integer and nameref attributes of declare/typeset/local make later assignments evaluate their values as
// arithmetic or as variable names, which can run command substitutions; they miss.
func declArgsSafe(keyword string, args []Word) bool {
	for _, a := range args {
		if !a.Literal {
			return false
		}
		v := a.Value
		if strings.HasPrefix(v, "-") || strings.HasPrefix(v, "+") {
			switch keyword {
			case "declare", "typeset", "local":
				if strings.ContainsAny(v[1:], "in") {
					return false
				}
			}
			continue
		}
		if keyword == "nameref" {
			return false
		}
		if name, _, ok := strings.Cut(v, "="); ok {
			name = strings.TrimSuffix(name, "+")
			if !plainName.MatchString(name) || dangerousName(name) {
				return false
			}
		}
	}
	return keyword != "nameref"
}

// builtinArgsSafe checks the operands of the bash builtins that take variable names (printf -v, read,
// mapfile/readarray, unset, getopts, wait -p, test/[ -v/-R). Bash evaluates an array subscript in such a name,
// and a subscript may contain a command substitution (`printf -v 'a[$(rm -rf ~)]' x` runs rm). Every other
// command's arguments are not inspected.
func builtinArgsSafe(name string, args []Word) bool {
	switch name {
	case "printf":
		return printfSafe(args)
	case "read":
		return optsThenNames(args, "adinNptu", "a", false)
	case "mapfile", "readarray":
		for _, a := range args {
			if a.Literal && strings.HasPrefix(a.Value, "-") && strings.Contains(a.Value, "C") {
				return false // -C callback: evaluated as a command
			}
		}
		return optsThenNames(args, "dnOsucC", "", false)
	case "unset":
		return unsetSafe(args)
	case "getopts":
		if len(args) < 2 || !allLiteralOrNumeric(args[:2]) {
			return false
		}
		return safeName(args[1])
	case "wait":
		return optsThenNames(args, "p", "p", true)
	case "test", "[":
		return testSafe(name, args)
	}
	return true
}

func allLiteralOrNumeric(args []Word) bool {
	for _, a := range args {
		if !a.Literal && !a.Numeric {
			return false
		}
	}
	return true
}

// printfSafe: bash's printf reads options while its words start with "-" (until "--" or the format), and it
// takes -v more than once (`printf -vx -v 'a[$(id)]' y` assigns through the second), so every word up to the
// format must be literal (it could expand to -v), the operand of every -v must be a safe name, and any other
// option-like word is refused.
func printfSafe(args []Word) bool {
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !a.Literal {
			return false
		}
		switch {
		case a.Value == "--":
			return true
		case a.Value == "-v":
			if i+1 >= len(args) || !safeName(args[i+1]) {
				return false
			}
			i++
		case strings.HasPrefix(a.Value, "-v"):
			if !safeName(Word{Value: a.Value[2:], Literal: true}) {
				return false
			}
		case strings.HasPrefix(a.Value, "-") && a.Value != "-":
			return false
		default:
			return true // the format: options end here
		}
	}
	return true
}

// optsThenNames checks a getopt-style builtin: every word literal (or numeric); withArg lists the option
// letters that take an operand, nameOpt those whose operand is a variable name. When operandsAreNames is
// false the words after the options are variable names; else they are ignored (wait's ids).
func optsThenNames(args []Word, withArg, nameOpt string, operandsNotNames bool) bool {
	if !allLiteralOrNumeric(args) {
		return false
	}
	i := 0
	for ; i < len(args); i++ {
		v := args[i].Value
		if !args[i].Literal || v == "-" || !strings.HasPrefix(v, "-") {
			break
		}
		if v == "--" {
			i++
			break
		}
		for j := 1; j < len(v); j++ {
			c := v[j : j+1]
			if !strings.Contains(withArg, c) {
				continue
			}
			var operand Word
			if j+1 < len(v) {
				operand = Word{Value: v[j+1:], Literal: true}
			} else {
				i++
				if i >= len(args) {
					return true
				}
				operand = args[i]
			}
			if strings.Contains(nameOpt, c) && !safeName(operand) {
				return false
			}
			break
		}
	}
	if operandsNotNames {
		return true
	}
	for ; i < len(args); i++ {
		if !safeName(args[i]) {
			return false
		}
	}
	return true
}

func unsetSafe(args []Word) bool {
	if !allLiteralOrNumeric(args) {
		return false
	}
	funcs := false
	opts := true
	for _, a := range args {
		if opts && strings.HasPrefix(a.Value, "-") && a.Value != "-" {
			if a.Value == "--" {
				opts = false
				continue
			}
			if strings.Contains(a.Value, "f") {
				funcs = true
			}
			continue
		}
		opts = false
		if funcs {
			continue
		}
		if !safeName(a) {
			return false
		}
	}
	return true
}

// test/[ operators that take two operands; a word after an operand that is one of these is not an operator.
var testBinaryOps = map[string]bool{
	"=": true, "==": true, "!=": true, "<": true, ">": true, "-eq": true, "-ne": true, "-lt": true, "-le": true,
	"-gt": true, "-ge": true, "-nt": true, "-ot": true, "-ef": true, "-a": true, "-o": true,
}

// testSafe: the operand of -v/-R must be a safe name, and a non-literal word must not be able to become the
// -v/-R operator: a non-literal word that starts a primary (first, or after !, ( , -a, -o or another
// non-literal word) and is followed by a word that is not a binary operator misses.
func testSafe(name string, args []Word) bool {
	if name == "[" && len(args) > 0 && args[len(args)-1].Literal && args[len(args)-1].Value == "]" {
		args = args[:len(args)-1]
	}
	for i, a := range args {
		if a.Literal {
			if a.Value == "-v" || a.Value == "-R" {
				if i+1 < len(args) && !safeName(args[i+1]) {
					return false
				}
			}
			continue
		}
		if a.Numeric || i+1 >= len(args) {
			continue
		}
		startsPrimary := i == 0
		if i > 0 {
			p := args[i-1]
			startsPrimary = !p.Literal && !p.Numeric || p.Value == "!" || p.Value == "(" || p.Value == "-a" || p.Value == "-o"
		}
		next := args[i+1]
		if startsPrimary && !(next.Literal && testBinaryOps[next.Value]) {
			return false
		}
	}
	return true
}
