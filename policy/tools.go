package policy

import (
	"fmt"
	"strings"
)

// ToolSet says which tools are enabled (registered).
type ToolSet struct{ Exec, Process bool }

// Tools applies the tool policy (docs/reference.md#tool-policy) to the tools.allow and
// tools.deny lists (config file or EXECMCP_TOOLS_ALLOW / EXECMCP_TOOLS_DENY).
//
// Names are trimmed and compared case-insensitively. `exec` and `process` name
// one tool each, `bash` is an alias of `exec`, `group:runtime` and `*` name
// both. Entries that are empty after trimming are skipped silently (an empty
// environment variable yields one). Every other name is ignored with one
// warning per entry, in order (allow entries first, then deny entries):
// `unknown tool name "<name>" in tool policy ignored`, <name> trimmed.
//
// A tool is enabled when allow has no non-blank entries or names it, and deny
// does not name it (deny wins). An allow list made only of unknown names still
// counts as given: it enables no tool.
func Tools(allow, deny []string) (ToolSet, []string) {
	var warnings []string
	resolve := func(list []string) (set ToolSet, given bool) {
		for _, raw := range list {
			name := strings.TrimSpace(raw)
			if name == "" {
				continue
			}
			given = true
			switch strings.ToLower(name) {
			case "exec", "bash":
				set.Exec = true
			case "process":
				set.Process = true
			case "group:runtime", "*":
				set.Exec, set.Process = true, true
			default:
				warnings = append(warnings, fmt.Sprintf("unknown tool name %q in tool policy ignored", name))
			}
		}
		return set, given
	}
	allowed, allowGiven := resolve(allow)
	denied, _ := resolve(deny)
	if !allowGiven {
		allowed = ToolSet{Exec: true, Process: true}
	}
	return ToolSet{
		Exec:    allowed.Exec && !denied.Exec,
		Process: allowed.Process && !denied.Process,
	}, warnings
}
