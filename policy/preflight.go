package policy

import (
	"path/filepath"
	"strings"
)

// Script preflight (docs/reference.md#script-preflight): models sometimes write shell syntax into the Python or
// JavaScript they then run, such as `payload = $DM_JSON`. For a command that runs a script directly
// (`python3 bad.py`, `env node app.js`), exec reads the script first and refuses the run with a message that says
// how to fix it, as OpenClaw does. It is a diagnostic aid, not a security boundary: anything it cannot resolve
// with certainty is let through.

// ScriptMaxBytes bounds the script preflight reads: a larger script is not checked.
const ScriptMaxBytes = 512 * 1024

// ScriptKind is the interpreter of a script.
type ScriptKind string

// The interpreters whose scripts are checked.
const (
	ScriptPython ScriptKind = "python"
	ScriptNode   ScriptKind = "node"
)

// ScriptTarget is a script file a direct interpreter command runs.
type ScriptTarget struct {
	Kind ScriptKind
	// Path is the operand as the interpreter receives it (quotes removed): absolute, or relative to the workdir.
	Path string
}

// ReadScript reads the script at the absolute path abs for the preflight; ok false means it is not checked (it
// does not exist, is no regular file, is larger than ScriptMaxBytes, resolves outside the workdir, ...).
type ReadScript func(abs string) (content []byte, ok bool)

// ScriptFinding is why the preflight refuses a script (tools words it, docs/reference.md#script-preflight).
type ScriptFinding struct {
	Kind ScriptKind
	// File is the script's base name.
	File string
	// Python: the shell variable reference as written ($NAME or ${NAME}), its NAME, and its 1-based line.
	Token, Name string
	Line        int
	// Node: the script's first non-empty line (trimmed), which starts like a shell command.
	ShellLine string
}

func (f *ScriptFinding) Error() string {
	if f.Kind == ScriptNode {
		return "node script " + f.File + " starts with shell syntax"
	}
	return "shell variable " + f.Token + " in python script " + f.File + ":" + itoa(f.Line)
}

// Preflight checks the scripts command runs directly (ScriptTargets of parse's program, which is only asked for
// when command names an interpreter), with workdir the command's absolute working directory. A script outside the
// workdir (after cleaning the path), or one read returns no content for, is not checked. The error is the
// *ScriptFinding of the first script refused.
func Preflight(command string, parse func() Program, workdir string, read ReadScript) error {
	if !interpreterMention.MatchString(command) {
		return nil
	}
	for _, t := range ScriptTargets(parse()) {
		abs := t.Path
		if !filepath.IsAbs(abs) {
			abs = filepath.Join(workdir, abs)
		}
		abs = filepath.Clean(abs)
		if rel, err := filepath.Rel(workdir, abs); err != nil || rel == ".." || strings.HasPrefix(rel, "../") {
			continue
		}
		content, ok := read(abs)
		if !ok {
			continue
		}
		if f := CheckScript(t.Kind, filepath.Base(abs), content); f != nil {
			return f
		}
	}
	return nil
}

// CheckScript applies the checks of kind to the content of the script file name (a base name) and returns what
// refuses it, or nil.
//
// Python: the first shell variable reference ($NAME or ${NAME}) in code, that is outside string literals and
// comments (f-string replacement fields are code, their format specs text), is refused: `$` is never valid
// Python code, so the script would only fail with a SyntaxError. JavaScript: a first non-empty line that starts
// like a shell command running node (`NODE "$TMPDIR/hot.json"`) is refused. `$NAME` is a valid JavaScript
// identifier, so Node scripts are not searched for it and report their own ReferenceError.
func CheckScript(kind ScriptKind, name string, content []byte) *ScriptFinding {
	src := string(content)
	switch kind {
	case ScriptPython:
		if token, varName, off, found := pythonShellVar(src); found {
			return &ScriptFinding{Kind: kind, File: name, Token: token, Name: varName, Line: lineAt(src, off)}
		}
	case ScriptNode:
		if line, ok := jsShellFirstLine(src); ok {
			return &ScriptFinding{Kind: kind, File: name, ShellLine: line}
		}
	}
	return nil
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b [20]byte
	i := len(b)
	for ; n > 0; n /= 10 {
		i--
		b[i] = byte('0' + n%10)
	}
	return string(b[i:])
}

// lineAt is the 1-based line of byte offset off; CR LF, CR and LF each end a line, as in Python.
func lineAt(src string, off int) int {
	line := 1
	for i := 0; i < off; i++ {
		switch src[i] {
		case '\n':
			line++
		case '\r':
			if i+1 < off && src[i+1] == '\n' {
				i++
			}
			line++
		}
	}
	return line
}

// jsShellFirstLine returns the first non-empty line of a JS file (trimmed) when it starts like a shell command that
// runs node, such as `NODE "$TMPDIR/hot.json"`: the word NODE, blanks, then an argument (a quote, `$`, `~`, or a
// word other than the operators in and instanceof). In JavaScript such a line is always a syntax error; `NODE: {`
// (a label), `NODE = 1` or `NODE instanceof X` are valid and not refused.
func jsShellFirstLine(src string) (string, bool) {
	for line := range strings.Lines(src) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		rest, ok := strings.CutPrefix(line, "NODE")
		if !ok || rest == "" || rest[0] != ' ' && rest[0] != '\t' {
			return "", false
		}
		rest = strings.TrimLeft(rest, " \t")
		switch c := rest[0]; {
		case c == '"' || c == '\'' || c == '$' || c == '~':
			return line, true
		case isWordByte(c):
			word := rest
			if i := strings.IndexFunc(rest, func(r rune) bool { return r > 0x7f || !isWordByte(byte(r)) }); i >= 0 {
				word = rest[:i]
			}
			if word == "in" || word == "instanceof" {
				return "", false
			}
			return line, true
		}
		return "", false
	}
	return "", false
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}
