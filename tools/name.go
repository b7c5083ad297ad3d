package tools

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"mvdan.cc/sh/v3/syntax"

	"github.com/execmcp/execmcp/output"
)

// DeriveName returns the short "verb target" label of a command (docs/reference.md#derived-name); "" means no
// name.
func DeriveName(command string) string {
	words, ok := parsedWords(command)
	if !ok {
		words = fallbackWords(command)
	}
	if len(words) == 0 {
		return ""
	}
	verb := words[0]
	name := verb
	target := ""
	found := false
	for _, w := range words[1:] {
		if !strings.HasPrefix(w, "-") {
			target, found = w, true
			break
		}
	}
	if !found && len(words) > 1 {
		target, found = words[1], true
	}
	if found {
		name = verb + " " + output.TruncateMiddle(target, 48)
	}
	return output.CollapseSpace(name)
}

// parsedWords parses command as bash and returns the words of the first simple command in source order;
// ok is false when the command does not parse or has no simple command.
func parsedWords(command string) (words []string, ok bool) {
	defer func() {
		if recover() != nil { // the parser must never take the server down
			words, ok = nil, false
		}
	}()
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash)).Parse(strings.NewReader(command), "")
	if err != nil {
		return nil, false
	}
	syntax.Walk(f, func(n syntax.Node) bool {
		if ok {
			return false
		}
		switch x := n.(type) {
		case *syntax.CallExpr:
			if len(x.Args) == 0 {
				return true // assignments only: keep looking (for example inside $(...))
			}
			for _, w := range x.Args {
				words = append(words, wordText(command, w))
			}
			ok = true
			return false
		case *syntax.DeclClause:
			if x.Variant == nil {
				return true
			}
			words = append(words, x.Variant.Value)
			for _, a := range x.Args {
				words = append(words, assignText(command, a))
			}
			ok = true
			return false
		}
		return true
	})
	return words, ok && len(words) > 0
}

// source returns the source text of a node.
func source(command string, n syntax.Node) string {
	start, end := int(n.Pos().Offset()), int(n.End().Offset())
	if start < 0 || end > len(command) || start > end {
		return ""
	}
	return command[start:end]
}

// wordText is the unquoted literal value of a word made only of literal text and quotes, else its source.
func wordText(command string, w *syntax.Word) string {
	if w == nil {
		return ""
	}
	if lit, ok := literalWord(w); ok {
		return lit
	}
	return source(command, w)
}

func assignText(command string, a *syntax.Assign) string {
	switch {
	case a.Name == nil && a.Value != nil: // a flag such as -x
		return wordText(command, a.Value)
	case a.Name != nil && a.Naked && a.Index == nil:
		return a.Name.Value
	case a.Name != nil && a.Index == nil && a.Array == nil && a.Value != nil:
		if lit, ok := literalWord(a.Value); ok {
			op := "="
			if a.Append {
				op = "+="
			}
			return a.Name.Value + op + lit
		}
	case a.Name != nil && a.Index == nil && a.Array == nil && a.Value == nil && !a.Naked:
		return a.Name.Value + "="
	}
	return source(command, a)
}

// literalWord performs quote removal on a word made of literals and quotes only.
func literalWord(w *syntax.Word) (string, bool) {
	var sb strings.Builder
	for _, part := range w.Parts {
		switch p := part.(type) {
		case *syntax.Lit:
			sb.WriteString(removeBackslashes(p.Value))
		case *syntax.SglQuoted:
			if p.Dollar {
				return "", false
			}
			sb.WriteString(p.Value)
		case *syntax.DblQuoted:
			if p.Dollar {
				return "", false
			}
			for _, dp := range p.Parts {
				lit, ok := dp.(*syntax.Lit)
				if !ok {
					return "", false
				}
				sb.WriteString(unescapeDouble(lit.Value))
			}
		default:
			return "", false
		}
	}
	return sb.String(), true
}

// unescapeDouble removes the backslashes that quote $ ` " \ and newline inside double quotes.
func unescapeDouble(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var sb strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) {
			switch s[i+1] {
			case '$', '`', '"', '\\':
				i++
			case '\n':
				i++
				continue
			}
		}
		sb.WriteByte(s[i])
	}
	return sb.String()
}

// fallbackWords splits a command that does not parse into words: maximal runs of non-white-space chars in which
// quoted sections ("..." with backslash escapes, '...') belong to the run; a token that starts and ends with the
// same quote loses one level of them, and empty tokens are dropped.
func fallbackWords(command string) []string {
	var words []string
	var tok strings.Builder
	inTok := false
	flush := func() {
		if !inTok {
			return
		}
		t := tok.String()
		tok.Reset()
		inTok = false
		if len(t) >= 2 && (t[0] == '"' || t[0] == '\'') && t[len(t)-1] == t[0] {
			t = t[1 : len(t)-1]
		}
		if t != "" {
			words = append(words, t)
		}
	}
	for i := 0; i < len(command); {
		r, size := utf8.DecodeRuneInString(command[i:])
		switch {
		case unicode.IsSpace(r):
			flush()
			i += size
		case r == '\'':
			inTok = true
			j := strings.IndexByte(command[i+1:], '\'')
			end := len(command)
			if j >= 0 {
				end = i + 1 + j + 1
			}
			tok.WriteString(command[i:end])
			i = end
		case r == '"':
			inTok = true
			j := i + 1
			for j < len(command) && command[j] != '"' {
				if command[j] == '\\' && j+1 < len(command) {
					j++
				}
				j++
			}
			if j < len(command) {
				j++ // the closing quote
			}
			tok.WriteString(command[i:j])
			i = j
		default:
			inTok = true
			tok.WriteString(command[i : i+size])
			i += size
		}
	}
	flush()
	return words
}
