package tools

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"mvdan.cc/sh/v3/expand"
	"mvdan.cc/sh/v3/syntax"

	"github.com/execmcp/execmcp/policy"
)

// ParseProgram parses an exec command as bash (mvdan.cc/sh/v3, LangBash) and walks the whole syntax tree,
// returning every unit the allowlist (docs/reference.md#allowlist) judges, in source order: call expressions with a
// command word, declaration clauses, assignment-only commands, and the constructs that make bash evaluate
// text as code at run time (KindEval). Command and process substitutions are found everywhere: arguments,
// redirections, assignments, here-documents, arithmetic, parameter expansions and test clauses.
//
// It decides nothing: policy.CheckAllowlist does. A command that does not parse yields Program.ParseErr; one
// with a backslash-newline the shell may read differently from the parser yields Program.Ambiguous (see
// continuationInWord).
func ParseProgram(command string) (prog policy.Program) {
	defer func() {
		if r := recover(); r != nil { // never take the server down; fail closed
			prog = policy.Program{ParseErr: fmt.Errorf("parser failure: %v", r)}
		}
	}()
	f, err := syntax.NewParser(syntax.Variant(syntax.LangBash), syntax.KeepComments(true)).Parse(strings.NewReader(command), "")
	if err != nil {
		prog = policy.Program{ParseErr: err}
		if continuationInWord(command, nil) { // the parser may have failed on what the shell joins
			prog.Ambiguous = textContinuationInWord
		}
		return prog
	}
	if continuationInWord(command, f) {
		prog.Ambiguous = textContinuationInWord
	}
	w := &walker{src: command}
	syntax.Walk(f, w.visit)
	sort.SliceStable(w.units, func(i, j int) bool { return w.units[i].pos < w.units[j].pos })
	prog.Commands = make([]policy.SimpleCommand, len(w.units))
	for i, u := range w.units {
		prog.Commands[i] = u.cmd
	}
	return prog
}

// textContinuationInWord is the subject of the allowlist miss of a command with a backslash-newline that is not a
// plain line continuation between words.
const textContinuationInWord = "line continuation inside a word"

// continuationInWord reports a backslash-newline in command that is not a plain line continuation between
// words. Bash and dash remove every backslash-newline pair before they split words (outside single quotes and
// quoted here-document bodies), so `"$\⏎(id)"` is `"$(id)"` to them, while the parser leaves such a pair inside
// the word as literal text: the tree would not be the program the shell runs. Only one form is read alike by
// both: the backslash follows a space or tab that separates two tokens, outside every word, comment, here-document
// body and arithmetic or test clause; removing the pair there leaves the blank that already ended the previous
// token. Every other backslash-newline (an escaped backslash before a newline included) makes the command
// ambiguous: nothing about it is trusted, whatever the shell would have made of it. Without a tree (f nil: the
// command did not parse) only the blank before each backslash is checked.
func continuationInWord(command string, f *syntax.File) bool {
	if !strings.Contains(command, "\\\n") {
		return false
	}
	if f == nil {
		for i := 0; i+1 < len(command); i++ {
			if command[i] == '\\' && command[i+1] == '\n' && (i == 0 || command[i-1] != ' ' && command[i-1] != '\t') {
				return true
			}
		}
		return false
	}
	// covered[i] > 0: byte i lies inside a word, comment, here-document body or clause the blank rule does not
	// apply to (a difference array over the spans, then its running sum).
	covered := make([]int32, len(command)+1)
	span := func(n syntax.Node) {
		start, end := n.Pos().Offset(), n.End().Offset()
		if !n.Pos().IsValid() || start >= uint(len(command)) {
			return
		}
		end = min(max(end, start+1), uint(len(command)))
		covered[start]++
		covered[end]--
	}
	syntax.Walk(f, func(n syntax.Node) bool {
		switch n.(type) {
		case *syntax.Word, *syntax.ArithmCmd, *syntax.TestClause, *syntax.LetClause, *syntax.CStyleLoop,
			*syntax.Comment:
			span(n)
		}
		return true
	})
	for i := 1; i < len(covered); i++ {
		covered[i] += covered[i-1]
	}
	for i := 0; i+1 < len(command); i++ {
		if command[i] != '\\' || command[i+1] != '\n' {
			continue
		}
		if i == 0 || covered[i] > 0 || covered[i-1] > 0 || (command[i-1] != ' ' && command[i-1] != '\t') {
			return true
		}
	}
	return false
}

type progUnit struct {
	pos uint
	cmd policy.SimpleCommand
}

type walker struct {
	src   string
	units []progUnit
}

func (w *walker) text(n syntax.Node) string {
	start, end := n.Pos().Offset(), n.End().Offset()
	if end > uint(len(w.src)) {
		end = uint(len(w.src))
	}
	if start > end {
		return ""
	}
	return w.src[start:end]
}

func (w *walker) add(at syntax.Node, source string, c policy.SimpleCommand) {
	c.Source = source
	w.units = append(w.units, progUnit{pos: at.Pos().Offset(), cmd: c})
}

func (w *walker) eval(n syntax.Node, reason string) {
	w.add(n, w.text(n), policy.SimpleCommand{Kind: policy.KindEval, Reason: reason})
}

func (w *walker) visit(n syntax.Node) bool {
	switch x := n.(type) {
	case *syntax.CallExpr:
		var names []string
		for _, a := range x.Assigns {
			if a.Name != nil {
				names = append(names, a.Name.Value)
			}
		}
		if len(x.Args) == 0 {
			w.add(x, w.text(x), policy.SimpleCommand{Kind: policy.KindAssign, Assigns: names})
			break
		}
		c := policy.SimpleCommand{Kind: policy.KindCall, Name: w.word(x.Args[0]), Assigns: names}
		for _, a := range x.Args[1:] {
			c.Args = append(c.Args, w.word(a))
		}
		w.add(x, w.text(x), c)
	case *syntax.DeclClause:
		c := policy.SimpleCommand{Kind: policy.KindDecl, Name: policy.Word{Value: x.Variant.Value, Literal: true}}
		for _, a := range x.Args {
			switch {
			case a.Naked && a.Name == nil && a.Value != nil:
				c.Args = append(c.Args, w.word(a.Value)) // a flag, or a word that is not syntactically an assignment
			case a.Naked:
				// a bare name (export NAME): no value is assigned
			case a.Name != nil:
				c.Assigns = append(c.Assigns, a.Name.Value)
			}
		}
		w.add(x, w.text(x), c)
	case *syntax.LetClause:
		w.add(x, w.text(x), policy.SimpleCommand{Kind: policy.KindCall, Name: policy.Word{Value: "let", Literal: true}})
		for _, e := range x.Exprs {
			if !arithSafe(e) {
				w.eval(x, "let evaluates variables as arithmetic")
				break
			}
		}
	case *syntax.ForClause:
		if it, ok := x.Loop.(*syntax.WordIter); ok && it.Name != nil {
			src := w.src[min(x.ForPos.Offset(), uint(len(w.src))):min(it.End().Offset(), uint(len(w.src)))]
			w.add(x, src, policy.SimpleCommand{Kind: policy.KindAssign, Assigns: []string{it.Name.Value}})
		}
	case *syntax.CStyleLoop:
		for _, e := range []syntax.ArithmExpr{x.Init, x.Cond, x.Post} {
			if e != nil && !arithSafe(e) {
				w.eval(x, "arithmetic on a variable")
				break
			}
		}
	case *syntax.CoprocClause:
		if x.Name != nil {
			if v, ok := literalValue(w, x.Name); ok {
				w.add(x, w.text(x.Name), policy.SimpleCommand{Kind: policy.KindAssign, Assigns: []string{v}})
			} else {
				w.eval(x.Name, "coproc name built at run time")
			}
		}
	case *syntax.DblQuoted:
		if x.Dollar {
			// $"...": bash looks the text up in the message catalogue named by TEXTDOMAIN and TEXTDOMAINDIR
			// and expands the translation again, so a catalogue the command can write runs code.
			w.eval(x, "locale translation")
		}
	case *syntax.ArithmExp:
		if !arithSafe(x.X) {
			w.eval(x, "arithmetic on a variable")
		}
	case *syntax.ArithmCmd:
		if !arithSafe(x.X) {
			w.eval(x, "arithmetic on a variable")
		}
	case *syntax.ParamExp:
		w.paramExp(x)
	case *syntax.Assign:
		if x.Index != nil && !arithSafe(x.Index) {
			w.eval(x, "array subscript")
		}
	case *syntax.ArrayElem:
		if x.Index != nil && !arithSafe(x.Index) {
			src := w.text(x)
			if start := x.Pos().Offset(); start > 0 && start <= uint(len(w.src)) && w.src[start-1] == '[' {
				src = "[" + src // the element's position is its index, after the [
			}
			w.add(x, src, policy.SimpleCommand{Kind: policy.KindEval, Reason: "array subscript"})
		}
	case *syntax.BinaryTest:
		switch x.Op {
		case syntax.TsEql, syntax.TsNeq, syntax.TsLeq, syntax.TsGeq, syntax.TsLss, syntax.TsGtr:
			if !testNumeric(x.X) || !testNumeric(x.Y) {
				w.eval(x, "test clause arithmetic on a variable")
			}
		}
	case *syntax.UnaryTest:
		if x.Op == syntax.TsVarSet || x.Op == syntax.TsRefVar {
			word, ok := x.X.(*syntax.Word)
			if !ok {
				w.eval(x, "test clause variable name")
				break
			}
			if v, lit := literalValue(w, word); !lit || !plainName.MatchString(v) {
				w.eval(x, "test clause variable name")
			}
		}
	}
	return true
}

// testNumeric: an operand of [[ a -eq b ]] is evaluated as arithmetic by bash.
func testNumeric(e syntax.TestExpr) bool {
	wd, ok := e.(*syntax.Word)
	return ok && numericWord(wd)
}

var plainName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// paramExp records the parameter expansions that evaluate code or assign.
func (w *walker) paramExp(x *syntax.ParamExp) {
	switch {
	case x.Excl && x.Names == 0 && !wholeArrayIndex(x.Index):
		w.eval(x, "indirect expansion") // ${!x}: x may name a[$(cmd)]
	case x.Exp != nil && x.Exp.Op == syntax.OtherParamOps:
		if v, ok := literalValue(w, x.Exp.Word); !ok || strings.Contains(v, "P") {
			w.eval(x, "prompt expansion") // ${x@P} runs command substitutions in the value
		}
	}
	if x.Index != nil && !wholeArrayIndex(x.Index) && !arithSafe(x.Index) {
		w.eval(x, "array subscript")
	}
	if x.Slice != nil && (x.Slice.Offset != nil && !arithSafe(x.Slice.Offset) || x.Slice.Length != nil && !arithSafe(x.Slice.Length)) {
		w.eval(x, "substring offset arithmetic")
	}
	if x.Exp != nil && (x.Exp.Op == syntax.AssignUnset || x.Exp.Op == syntax.AssignUnsetOrNull) && x.Param != nil {
		w.add(x, w.text(x), policy.SimpleCommand{Kind: policy.KindAssign, Assigns: []string{x.Param.Value}})
	}
}

// wholeArrayIndex reports an index of @ or *: ${a[@]}, ${!a[@]}.
func wholeArrayIndex(e syntax.ArithmExpr) bool {
	wd, ok := e.(*syntax.Word)
	if !ok || len(wd.Parts) != 1 {
		return false
	}
	l, ok := wd.Parts[0].(*syntax.Lit)
	return ok && (l.Value == "@" || l.Value == "*")
}

// arithSafe reports whether an arithmetic expression only involves numbers. Bash evaluates the value of a
// variable named in arithmetic as arithmetic again, and an array subscript there runs command substitutions
// (x='a[$(rm -rf ~)]'; echo $((x)) runs rm), so any variable, expansion or substitution makes it unsafe.
func arithSafe(e syntax.ArithmExpr) bool {
	switch x := e.(type) {
	case *syntax.BinaryArithm:
		return arithSafe(x.X) && arithSafe(x.Y)
	case *syntax.UnaryArithm:
		return arithSafe(x.X)
	case *syntax.ParenArithm:
		return arithSafe(x.X)
	case *syntax.Word:
		return numericWord(x)
	}
	return false
}

var numericLit = regexp.MustCompile(`^[0-9][0-9A-Za-z_@#]*$`)

// numericWord reports a word that always expands to an integer: a numeric literal, $?, $#, $$, $! or ${#x}.
func numericWord(wd *syntax.Word) bool {
	if wd == nil || len(wd.Parts) != 1 {
		return false
	}
	return numericPart(wd.Parts[0])
}

func numericPart(p syntax.WordPart) bool {
	switch x := p.(type) {
	case *syntax.Lit:
		return numericLit.MatchString(x.Value)
	case *syntax.DblQuoted:
		return !x.Dollar && len(x.Parts) == 1 && numericPart(x.Parts[0])
	case *syntax.ParamExp:
		if x.Excl || x.Width || x.IsSet || x.Flags != nil || x.NestedParam != nil || len(x.Modifiers) > 0 ||
			x.Slice != nil || x.Repl != nil || x.Names != 0 || x.Exp != nil || x.Param == nil {
			return false
		}
		if x.Length {
			return x.Index == nil || wholeArrayIndex(x.Index) || arithSafe(x.Index)
		}
		if x.Index != nil {
			return false
		}
		switch x.Param.Value {
		case "?", "#", "$", "!":
			return true
		}
	}
	return false
}

// word converts a syntax word for policy.
func (w *walker) word(wd *syntax.Word) policy.Word {
	v, ok := literalValue(w, wd)
	return policy.Word{Value: v, Literal: ok, Numeric: numericWord(wd)}
}

// literalValue returns the value of a literal word after quote removal (policy.Word.Literal): only literal
// text, single quotes (also $'...') and double quotes around literal text; no unquoted { } * ? , no unquoted
// [ with a ] after it (a lone [ is the test command), no leading unquoted ~. $"..." (translated) is not literal.
func literalValue(w *walker, wd *syntax.Word) (string, bool) {
	if wd == nil || len(wd.Parts) == 0 {
		return "", false
	}
	for i, p := range wd.Parts {
		switch x := p.(type) {
		case *syntax.Lit:
			after := ""
			if end := x.End().Offset(); end <= uint(len(w.src)) && end >= wd.Pos().Offset() {
				after = w.src[end:min(wd.End().Offset(), uint(len(w.src)))]
			}
			if globChars(x.Value, after) || (i == 0 && strings.HasPrefix(x.Value, "~")) {
				return "", false
			}
		case *syntax.SglQuoted:
		case *syntax.DblQuoted:
			if x.Dollar {
				return "", false
			}
			for _, q := range x.Parts {
				if _, ok := q.(*syntax.Lit); !ok {
					return "", false
				}
			}
		default:
			return "", false
		}
	}
	var b strings.Builder
	for _, p := range wd.Parts {
		switch x := p.(type) {
		case *syntax.Lit:
			b.WriteString(removeBackslashes(x.Value))
		case *syntax.SglQuoted:
			if !x.Dollar {
				b.WriteString(x.Value)
				break
			}
			v, err := expand.Literal(&expand.Config{}, &syntax.Word{Parts: []syntax.WordPart{p}})
			if err != nil {
				return "", false
			}
			b.WriteString(v)
		default: // "..." around literal text: expand decodes it without running anything
			v, err := expand.Literal(&expand.Config{}, &syntax.Word{Parts: []syntax.WordPart{p}})
			if err != nil {
				return "", false
			}
			b.WriteString(v)
		}
	}
	return b.String(), true
}

// removeBackslashes removes the backslashes of an unquoted literal: \c is c, and a backslash-newline disappears.
func removeBackslashes(raw string) string {
	if !strings.Contains(raw, `\`) {
		return raw
	}
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		if raw[i] == '\\' && i+1 < len(raw) {
			i++
			if raw[i] == '\n' {
				continue
			}
		}
		b.WriteByte(raw[i])
	}
	return b.String()
}

// globChars reports an unquoted (not backslash-escaped) brace or glob character in the raw text of a literal
// part; after is the source text of the word after this part, for the closing ] of a bracket expression.
func globChars(raw, after string) bool {
	for i := 0; i < len(raw); i++ {
		switch raw[i] {
		case '\\':
			i++
		case '*', '?', '{', '}':
			return true
		case '[':
			if strings.Contains(raw[i+1:], "]") || strings.Contains(after, "]") {
				return true
			}
		}
	}
	return false
}
