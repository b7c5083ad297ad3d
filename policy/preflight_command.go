package policy

import (
	"path"
	"regexp"
	"strings"
)

// shellWord is one word of a simple command with its quotes removed. expands says that an unquoted part has a value
// only the shell knows (a parameter, a glob, a leading ~): such a word names no file the preflight can read.
type shellWord struct {
	text    string
	expands bool
}

// simpleCommandWords splits command into the words of one simple command, dropping redirections and a trailing
// comment. ok is false for anything else: lists, pipelines, background jobs, subshells, command and process
// substitution, here-documents, line breaks, unterminated quotes. The preflight only judges what it can resolve
// exactly; a complex command is let through unchecked.
func simpleCommandWords(command string) (words []shellWord, ok bool) {
	s := strings.TrimSpace(command)
	var cur strings.Builder
	var in, expands, redirect bool
	flush := func() {
		if in {
			if !redirect {
				words = append(words, shellWord{text: cur.String(), expands: expands})
			}
			redirect = false
		}
		cur.Reset()
		in, expands = false, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case ' ', '\t':
			flush()
		case '\n', ';', '&', '|', '(', ')', '`':
			return nil, false
		case '#':
			if !in {
				flush()
				return words, !redirect
			}
			cur.WriteByte(c)
		case '<', '>':
			if i+1 < len(s) && (s[i+1] == '(' || c == '<' && s[i+1] == '<') {
				return nil, false // process substitution, here-document or here-string
			}
			// An fd number right before the operator belongs to it (2>err.log).
			if in && !expands && isDigits(cur.String()) {
				cur.Reset()
				in = false
			}
			flush()
			if i+1 < len(s) && (s[i+1] == '>' || s[i+1] == '&' || s[i+1] == '|') {
				i++
			}
			redirect = true
		case '\\':
			if i+1 == len(s) {
				return nil, false
			}
			i++
			if s[i] != '\n' { // a backslash-newline is a line continuation
				cur.WriteByte(s[i])
				in = true
			}
		case '\'':
			end := strings.IndexByte(s[i+1:], '\'')
			if end < 0 {
				return nil, false
			}
			cur.WriteString(s[i+1 : i+1+end])
			i += end + 1
			in = true
		case '"':
			i++
			for ; i < len(s) && s[i] != '"'; i++ {
				switch s[i] {
				case '`':
					return nil, false
				case '$':
					if i+1 < len(s) && s[i+1] == '(' {
						return nil, false
					}
					expands = true
				case '\\':
					if i+1 < len(s) && strings.IndexByte("$`\"\\\n", s[i+1]) >= 0 {
						i++
						if s[i] == '\n' {
							continue
						}
					}
				}
				cur.WriteByte(s[i])
			}
			if i == len(s) {
				return nil, false
			}
			in = true
		case '$':
			if i+1 < len(s) && s[i+1] == '(' {
				return nil, false
			}
			expands, in = true, true
			cur.WriteByte(c)
		case '*', '?', '[':
			expands, in = true, true
			cur.WriteByte(c)
		case '~':
			if !in {
				expands = true
			}
			in = true
			cur.WriteByte(c)
		default:
			cur.WriteByte(c)
			in = true
		}
	}
	flush()
	return words, !redirect
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

var (
	// assignmentWord is a NAME=value word in front of a command.
	assignmentWord = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*=`)
	// pythonName matches the interpreters python, python3 and python3.N (case-insensitive, as OpenClaw).
	pythonName = regexp.MustCompile(`(?i)^python(3(\.[0-9]+)?)?$`)
)

// envOptionsWithValue are the options of env(1) whose value is the next word.
var envOptionsWithValue = map[string]bool{
	"-S": true, "-u": true, "--argv0": true, "--block-signal": true, "--default-signal": true,
	"--ignore-signal": true, "--split-string": true, "--unset": true,
}

// ScriptTargets returns the scripts a command runs directly: `python[3[.N]] [options] file.py` (the first
// positional operand; none after -c or -m) and `node [options] file.js` (the entry script, unless -e or -p give the
// code inline, and every preload of -r, --require or --import), optionally behind NAME=value assignments and
// env(1) with its options. Anything else, or an operand whose value only the shell knows, gives none.
func ScriptTargets(command string) []ScriptTarget {
	words, ok := simpleCommandWords(command)
	if !ok {
		return nil
	}
	words = skipAssignments(words)
	if len(words) > 0 && !words[0].expands && path.Base(words[0].text) == "env" {
		if words, ok = skipEnv(words[1:]); !ok {
			return nil
		}
	}
	if len(words) == 0 || words[0].expands {
		return nil
	}
	exe, args := path.Base(words[0].text), words[1:]
	switch {
	case pythonName.MatchString(exe):
		if w, ok := pythonScript(args); ok {
			return []ScriptTarget{{Kind: ScriptPython, Path: w.text}}
		}
	case exe == "node":
		var out []ScriptTarget
		for _, w := range nodeScripts(args) {
			out = append(out, ScriptTarget{Kind: ScriptNode, Path: w.text})
		}
		return out
	}
	return nil
}

func skipAssignments(words []shellWord) []shellWord {
	for len(words) > 0 && assignmentWord.MatchString(words[0].text) {
		words = words[1:]
	}
	return words
}

// skipEnv drops env's options and assignments in front of the command env runs; ok is false when env changes the
// directory (-C, --chdir), so that a relative script would not be found where the preflight looks.
func skipEnv(words []shellWord) ([]shellWord, bool) {
	for len(words) > 0 {
		w := words[0].text
		switch {
		case w == "--":
			return skipAssignments(words[1:]), true
		case assignmentWord.MatchString(w):
			words = words[1:]
		case w == "-C" || w == "--chdir" || strings.HasPrefix(w, "--chdir=") || strings.HasPrefix(w, "-C"):
			return nil, false
		case strings.HasPrefix(w, "-") && w != "-":
			words = words[1:]
			if envOptionsWithValue[w] && len(words) > 0 {
				words = words[1:]
			}
		default:
			return words, true
		}
	}
	return words, true
}

func hasSuffixFold(s string, suffixes ...string) bool {
	s = strings.ToLower(s)
	for _, x := range suffixes {
		if strings.HasSuffix(s, x) {
			return true
		}
	}
	return false
}

func isPythonFile(w shellWord) bool { return !w.expands && hasSuffixFold(w.text, ".py") }

func isJSFile(w shellWord) bool { return !w.expands && hasSuffixFold(w.text, ".js", ".mjs", ".cjs") }

// pythonScript returns the script operand of python's arguments: the first one that is not an option. -c and -m
// (also inside a cluster such as -Bc) mean there is none; -W, -X and -Q take a value (the rest of the cluster or
// the next word); after -- the next word is the operand; - reads the program from stdin.
func pythonScript(args []shellWord) (shellWord, bool) {
	for i := 0; i < len(args); i++ {
		a := args[i].text
		switch {
		case a == "--":
			if i+1 < len(args) && isPythonFile(args[i+1]) {
				return args[i+1], true
			}
			return shellWord{}, false
		case a == "-":
			return shellWord{}, false
		case strings.HasPrefix(a, "--"):
			if a == "--check-hash-based-pycs" {
				i++
			}
		case strings.HasPrefix(a, "-"):
			for j := 1; j < len(a); j++ {
				switch a[j] {
				case 'c', 'm':
					return shellWord{}, false
				case 'W', 'X', 'Q':
					if j == len(a)-1 {
						i++
					}
					j = len(a)
				}
			}
		default:
			return args[i], isPythonFile(args[i])
		}
	}
	return shellWord{}, false
}

// nodeScripts returns the scripts node's arguments load: the preloads of -r, --require and --import (run even with
// inline code), then the entry script, the first operand, unless -e, -p, --eval or --print give the code.
func nodeScripts(args []shellWord) []shellWord {
	var out []shellWord
	inline := false
	for i := 0; i < len(args); i++ {
		a := args[i].text
		switch {
		case a == "--":
			if !inline && i+1 < len(args) && isJSFile(args[i+1]) {
				out = append(out, args[i+1])
			}
			return out
		case a == "-e" || a == "-p" || a == "--eval" || a == "--print":
			inline = true
			i++
		case strings.HasPrefix(a, "--eval=") || strings.HasPrefix(a, "--print=") ||
			len(a) > 2 && (strings.HasPrefix(a, "-e") || strings.HasPrefix(a, "-p")):
			inline = true
		case a == "-r" || a == "--require" || a == "--import":
			if i+1 < len(args) && isJSFile(args[i+1]) {
				out = append(out, args[i+1])
			}
			i++
		case strings.HasPrefix(a, "--require=") || strings.HasPrefix(a, "--import="):
			if v := (shellWord{text: a[strings.IndexByte(a, '=')+1:], expands: args[i].expands}); isJSFile(v) {
				out = append(out, v)
			}
		case len(a) > 2 && strings.HasPrefix(a, "-r"):
			if v := (shellWord{text: a[2:], expands: args[i].expands}); isJSFile(v) {
				out = append(out, v)
			}
		case strings.HasPrefix(a, "-"):
		default:
			if !inline && isJSFile(args[i]) {
				out = append(out, args[i])
			}
			return out
		}
	}
	return out
}
