package policy

import (
	"path"
	"regexp"
	"strings"
)

// interpreterMention matches commands that may run a script the preflight checks; only those are parsed.
var interpreterMention = regexp.MustCompile(`(?i)python|node`)

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

// ScriptTargets returns the scripts prog runs directly: `python[3[.N]] [options] file.py` (the first positional
// operand; none after -c or -m) and `node [options] file.js` (the entry script, unless -e or -p give the code
// inline, and every preload of -r, --require or --import), as a program of exactly one simple command (what runs
// in a pipeline, list, loop, conditional or substitution is not resolved), optionally behind NAME=value assignments
// and env(1) with its options. Anything else, or an operand that is not a literal word, gives none.
func ScriptTargets(prog Program) []ScriptTarget {
	if prog.ParseErr != nil || prog.Ambiguous != "" || len(prog.Commands) != 1 || prog.Commands[0].Kind != KindCall {
		return nil
	}
	c := prog.Commands[0]
	words := append([]Word{c.Name}, c.Args...)
	if words[0].Literal && path.Base(words[0].Value) == "env" {
		var ok bool
		if words, ok = skipEnv(words[1:]); !ok {
			return nil
		}
	}
	if len(words) == 0 || !words[0].Literal {
		return nil
	}
	exe, args := path.Base(words[0].Value), words[1:]
	switch {
	case pythonName.MatchString(exe):
		if w, ok := pythonScript(args); ok {
			return []ScriptTarget{{Kind: ScriptPython, Path: w.Value}}
		}
	case exe == "node":
		var out []ScriptTarget
		for _, w := range nodeScripts(args) {
			out = append(out, ScriptTarget{Kind: ScriptNode, Path: w.Value})
		}
		return out
	}
	return nil
}

func skipAssignments(words []Word) []Word {
	for len(words) > 0 && words[0].Literal && assignmentWord.MatchString(words[0].Value) {
		words = words[1:]
	}
	return words
}

// skipEnv drops env's options and assignments in front of the command env runs; ok is false when env changes the
// directory (-C, --chdir), so that a relative script would not be found where the preflight looks.
func skipEnv(words []Word) ([]Word, bool) {
	for len(words) > 0 {
		w := words[0].Value
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

func isPythonFile(w Word) bool { return w.Literal && hasSuffixFold(w.Value, ".py") }

func isJSFile(w Word) bool { return w.Literal && hasSuffixFold(w.Value, ".js", ".mjs", ".cjs") }

// pythonScript returns the script operand of python's arguments: the first one that is not an option. -c and -m
// (also inside a cluster such as -Bc) mean there is none; -W, -X and -Q take a value (the rest of the cluster or
// the next word); after -- the next word is the operand; - reads the program from stdin.
func pythonScript(args []Word) (Word, bool) {
	for i := 0; i < len(args); i++ {
		a := args[i].Value
		switch {
		case a == "--":
			if i+1 < len(args) && isPythonFile(args[i+1]) {
				return args[i+1], true
			}
			return Word{}, false
		case a == "-":
			return Word{}, false
		case strings.HasPrefix(a, "--"):
			if a == "--check-hash-based-pycs" {
				i++
			}
		case strings.HasPrefix(a, "-"):
			for j := 1; j < len(a); j++ {
				switch a[j] {
				case 'c', 'm':
					return Word{}, false
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
	return Word{}, false
}

// nodeScripts returns the scripts node's arguments load: the preloads of -r, --require and --import (run even with
// inline code), then the entry script, the first operand, unless -e, -p, --eval or --print give the code.
func nodeScripts(args []Word) []Word {
	var out []Word
	inline := false
	for i := 0; i < len(args); i++ {
		a := args[i].Value
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
			if v := (Word{Value: a[strings.IndexByte(a, '=')+1:], Literal: args[i].Literal}); isJSFile(v) {
				out = append(out, v)
			}
		case len(a) > 2 && strings.HasPrefix(a, "-r"):
			if v := (Word{Value: a[2:], Literal: args[i].Literal}); isJSFile(v) {
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
