package tools

import (
	"errors"
	"fmt"

	"github.com/execmcp/execmcp/sessions"
)

// Texts of the terminal actions (docs/reference.md#process-screen, docs/reference.md#process-resize).
const textBadSize = "cols and rows must be integers between 2 and 1000."

func noTerminalText(id string) string {
	return "Session " + id + " has no terminal (start it with pty: true)."
}

// ptySize reads exec's cols and rows (docs/reference.md#process-screen): floored, and clamped to 2..1000 with a
// warning; absent means the default (0).
func ptySize(a *args, warnings []string) (cols, rows int, _ []string) {
	size := func(name string) int {
		v, ok := a.num(name)
		if !ok {
			return 0
		}
		n := floorInt(v)
		if c := min(max(n, sessions.MinTermSize), sessions.MaxTermSize); c != n {
			warnings = append(warnings, fmt.Sprintf("Warning: %s must be between %d and %d; using %d.", name,
				sessions.MinTermSize, sessions.MaxTermSize, c))
			return c
		}
		return n
	}
	cols = size("cols")
	rows = size("rows")
	return cols, rows, warnings
}

// screen renders the terminal of a PTY session (docs/reference.md#process-screen).
func (t *Tools) screen(scope, id string, a *args) processCall {
	n := 0
	if v, ok := a.num("scrollback"); ok {
		n = min(max(floorInt(v), 0), sessions.MaxScrollback)
	}
	scr, err := t.reg.Screen(scope, id, n)
	switch {
	case errors.Is(err, sessions.ErrNotBackgrounded):
		return failed("Session " + id + " is not backgrounded.")
	case errors.Is(err, sessions.ErrNoTerminal):
		return failed(noTerminalText(id))
	case err != nil:
		return failed("No session found for " + id)
	}
	return processCall{r: renderScreen(scr)}
}

// resize sets the size of a running PTY session's terminal (docs/reference.md#process-resize).
func (t *Tools) resize(scope, id string, a *args) processCall {
	cols, okCols := a.num("cols")
	rows, okRows := a.num("rows")
	valid := func(v float64) bool {
		return v == float64(floorInt(v)) && v >= sessions.MinTermSize && v <= sessions.MaxTermSize
	}
	if !okCols || !okRows || !valid(cols) || !valid(rows) {
		return failed(textBadSize)
	}
	info, err := t.reg.Resize(scope, id, int(cols), int(rows))
	switch {
	case errors.Is(err, sessions.ErrNotBackgrounded):
		return failed("Session " + id + " is not backgrounded.")
	case errors.Is(err, sessions.ErrNotRunning):
		return failed("Session " + id + " is not running.")
	case errors.Is(err, sessions.ErrNoTerminal):
		return failed(noTerminalText(id))
	case errors.Is(err, sessions.ErrNotFound):
		return failed("No session found for " + id)
	case err != nil:
		return failed(fmt.Sprintf("Unable to resize session %s: %v.", id, err))
	}
	d := map[string]any{"status": "running", "sessionId": id, "cols": int(cols), "rows": int(rows)}
	addName(d, info.Name)
	return processCall{r: result{text: fmt.Sprintf("Resized session %s to %dx%d.", id, int(cols), int(rows)), details: d}}
}
