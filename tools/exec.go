package tools

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/execmcp/execmcp/policy"
	"github.com/execmcp/execmcp/sessions"
)

// Limits of the yield window (docs/reference.md#exec-yield) and the timeout (docs/reference.md#exec-timeout).
const (
	minYieldMs    = 10
	maxYieldMs    = 120000
	maxTimeoutSec = 604800
)

// execMode is the wait mode of one exec call (docs/reference.md#exec-yield).
type execMode int

const (
	modeYield execMode = iota
	modeBackground
	modeSync
)

// execRequest is a decoded and validated exec call, ready to spawn.
type execRequest struct {
	command  string
	title    string // "" = none
	mode     execMode
	window   time.Duration
	warnings []string
	cwd      string
	env      []string
	pty      bool
	cols     int // the PTY size; 0 = the default
	rows     int
	timeout  time.Duration
	timeoutS float64
	wrapper  []string       // the sandbox wrapper (policy.SandboxArgs) when the target is sandbox
	watch    *regexp.Regexp // notifyOnOutput; nil when not given or empty
}

func (t *Tools) handleExec(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	scope, ok := scopeOf(ctx)
	if !ok {
		return t.envelope("", execError(textNoMCP), ""), nil
	}
	r := t.runExec(ctx, scope, req)
	return t.envelope(scope, r, ""), nil
}

// runExec runs the exec pipeline (docs/reference.md#exec-pipeline) and returns the result.
func (t *Tools) runExec(ctx context.Context, scope string, req mcp.CallToolRequest) result {
	a, err := decodeArgs("exec", execParams(), req.GetRawArguments())
	if err != nil {
		return execError(err.Error())
	}
	er, err := t.prepareExec(ctx, a)
	if err != nil {
		return execError(errorText(err))
	}
	stdin := sessions.StdinNull
	if er.mode != modeSync {
		if bg, _ := a.boolean("background"); bg || er.pty {
			stdin = sessions.StdinPipe
		}
	}
	spec := sessions.Spec{
		Scope:                    scope,
		Command:                  er.command,
		Name:                     DeriveName(er.command),
		Title:                    er.title,
		Shell:                    t.opts.Shell,
		Dir:                      er.cwd,
		Env:                      er.env,
		PTY:                      er.pty,
		Cols:                     er.cols,
		Rows:                     er.rows,
		Stdin:                    stdin,
		Timeout:                  er.timeout,
		TimeoutSec:               er.timeoutS,
		NotifyOnExit:             t.opts.NotifyOnExit,
		NotifyOnExitEmptySuccess: t.opts.NotifyOnExitEmptySuccess,
		Background:               er.mode == modeBackground,
		Spill:                    er.mode != modeSync, // docs/reference.md#spill
		Wrapper:                  er.wrapper,
		Watch:                    er.watch,
	}
	sess, fallback, err := t.reg.Start(spec)
	if err != nil {
		return execError(startErrorText(err))
	}
	t.stats.execByMode[er.mode].Add(1)
	warnings := er.warnings
	if fallback != nil {
		warnings = append(warnings, ptyFallbackWarning(er.command, fallback.Err))
	}
	t.checkOrphaned(scope)
	return t.waitExec(ctx, req, sess, er, warnings)
}

// prepareExec runs the checks and decisions of the exec pipeline (docs/reference.md#exec-pipeline) after the
// argument decoding, in their order; the error is the first failure, worded for the caller (policy denials
// are worded by errorText).
func (t *Tools) prepareExec(ctx context.Context, a *args) (er execRequest, err error) {
	// 2. Command.
	command, _ := a.str("command")
	switch {
	case command == "":
		return er, errors.New("Provide a command to start.")
	case strings.ContainsRune(command, 0):
		return er, errors.New("command must not contain NUL bytes.")
	case len(command) > policy.MaxCommandBytes:
		return er, fmt.Errorf("command is too long (%d bytes; limit %d).", len(command), policy.MaxCommandBytes)
	}
	er.command = command
	// 3. Other input limits.
	workdir, _ := a.str("workdir")
	workdir = strings.TrimSpace(workdir)
	switch {
	case strings.ContainsRune(workdir, 0):
		return er, errors.New("workdir must not contain NUL bytes.")
	case len(workdir) > policy.MaxWorkdirBytes:
		return er, fmt.Errorf("workdir is too long (%d bytes; limit %d).", len(workdir), policy.MaxWorkdirBytes)
	}
	if er.title, err = checkTitle(a); err != nil {
		return er, err
	}
	if a.env != nil {
		if len(a.env) > policy.MaxEnvEntries {
			return er, fmt.Errorf("env has too many entries (%d; limit %d).", len(a.env), policy.MaxEnvEntries)
		}
		keys := make([]string, 0, len(a.env))
		for k := range a.env {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if strings.ContainsRune(k, 0) || strings.ContainsRune(a.env[k], 0) {
				return er, fmt.Errorf("env entry \"%s\" must not contain NUL bytes.", strings.ReplaceAll(k, "\x00", `\u0000`))
			}
		}
	}
	if pat, _ := a.str("notifyOnOutput"); pat != "" {
		re, err := compilePattern(pat)
		if err != nil {
			return er, errors.New("Invalid notifyOnOutput pattern: " + err.Error())
		}
		er.watch = re
	}
	// 4. Background mode.
	background, _ := a.boolean("background")
	yieldMs, yieldGiven := a.num("yieldMs")
	switch {
	case !t.opts.Tools.Process:
		er.mode = modeSync
		if background || yieldGiven {
			er.warnings = append(er.warnings, textSyncWarn)
		}
	case background:
		er.mode = modeBackground
	default:
		er.mode = modeYield
		ms := t.opts.YieldMs
		if yieldGiven {
			ms = floorInt(yieldMs)
		}
		er.window = time.Duration(min(max(ms, minYieldMs), maxYieldMs)) * time.Millisecond
	}
	// 5. Elevated gate.
	elevated, _ := a.boolean("elevated")
	sandboxAvailable := t.opts.Sandbox == "bwrap"
	sandboxByDefault := sandboxAvailable && strings.ToLower(strings.TrimSpace(t.opts.Host)) != policy.HostGateway
	if err := policy.CheckElevated(elevated, t.opts.ElevatedEnabled, sandboxByDefault); err != nil {
		return er, err
	}
	// 6. Host.
	host, _ := a.str("host")
	target, err := policy.ResolveHost(host, t.opts.Host, sandboxAvailable, elevated)
	if err != nil {
		return er, err
	}
	// 7. Sandbox availability: ResolveHost already refused target sandbox without an available sandbox.
	// 8. workdir.
	cwd, err := resolveWorkdir(workdir, t.opts.Cwd, t.opts.Home)
	if err != nil {
		return er, err
	}
	er.cwd = cwd
	// 9. Environment validation.
	var overrides map[string]string
	if a.env != nil {
		overrides, err = policy.ValidateEnv(a.env)
		if err != nil {
			return er, err
		}
	}
	// 10. Environment assembly. On the host the login shell's PATH goes in front of the inherited one (behind
	// pathPrepend): the sandbox has its own view of the file system.
	er.pty, _ = a.boolean("pty")
	if er.pty {
		er.cols, er.rows, er.warnings = ptySize(a, er.warnings)
	}
	prepend := t.opts.PathPrepend
	if target != policy.HostSandbox && t.opts.LoginPath != nil {
		prepend = append(slices.Clip(prepend), t.opts.LoginPath(ctx)...)
	}
	er.env = policy.AssembleEnv(t.baseEnv, overrides, prepend, er.pty)
	// 11. Security mode. The command is parsed at most once, and only when a check needs its program.
	parse := sync.OnceValue(func() policy.Program { return ParseProgram(command) })
	if err := policy.CheckSecurity(t.opts.Security, parse, t.opts.Allowlist, er.env, cwd); err != nil {
		return er, err
	}
	// 11a. Script preflight: a script run directly is checked for shell syntax that leaked into it.
	if t.opts.ScriptPreflight {
		if err := policy.Preflight(command, parse, cwd, scriptReader(cwd)); err != nil {
			return er, err
		}
	}
	if target == policy.HostSandbox {
		if er.wrapper, err = t.sandboxWrapper(cwd, er.pty); err != nil {
			return er, err
		}
	}
	// 12. Timeout.
	timeoutParam, timeoutGiven := a.num("timeout")
	er.timeout, er.timeoutS = resolveTimeout(timeoutParam, timeoutGiven, t.opts.Tools.Process && (background || yieldGiven), t.opts.TimeoutSec)
	return er, nil
}

// checkTitle returns the title parameter trimmed ("" = none) or why it is refused: a title is a one-line label of
// at most policy.MaxTitleChars chars (docs/reference.md#exec-parameters).
func checkTitle(a *args) (string, error) {
	title, _ := a.str("title")
	title = strings.TrimSpace(title)
	if n := utf8.RuneCountInString(title); n > policy.MaxTitleChars {
		return "", fmt.Errorf("title is too long (%d chars; limit %d).", n, policy.MaxTitleChars)
	}
	for _, r := range title {
		if unicode.IsControl(r) {
			return "", errors.New("title must not contain control characters.")
		}
	}
	return title, nil
}

// resolveTimeout applies the timeout rules (docs/reference.md#exec-timeout): a given timeout wins; without one,
// a call that may continue in the background (noDefault: background execution is allowed and background:true
// or yieldMs was given) has none, any other gets the default. Zero, negative and NaN mean none; the rest is
// capped at maxTimeoutSec and floored to whole milliseconds, at least 1. It returns the timer length (0 = none)
// and the effective seconds for texts.
func resolveTimeout(param float64, given, noDefault bool, defaultSec float64) (time.Duration, float64) {
	var sec float64
	switch {
	case given:
		sec = param
	case noDefault:
		return 0, 0
	default:
		sec = defaultSec
	}
	if sec <= 0 || math.IsNaN(sec) {
		return 0, 0
	}
	sec = min(sec, maxTimeoutSec)
	ms := max(math.Floor(sec*1000), 1)
	return time.Duration(ms) * time.Millisecond, sec
}

// resolveWorkdir resolves the workdir parameter (already trimmed; "" = absent) as docs/reference.md#exec-workdir
// describes: ~ and ~/ expand to home when there is one, a relative path is relative to the default workdir, and
// the result must be an existing directory. The error is worded for the caller.
func resolveWorkdir(given, defaultCwd, home string) (string, error) {
	if given == "" {
		abs := filepath.Clean(defaultCwd)
		if err := statDir(abs); err != nil {
			return "", fmt.Errorf("default workdir \"%s\" %w.", abs, err)
		}
		return abs, nil
	}
	p := given
	switch {
	case home == "": // without a home directory ~ stays an ordinary relative name
	case p == "~":
		p = home
	case strings.HasPrefix(p, "~/"):
		p = filepath.Join(home, p[2:])
	}
	if !filepath.IsAbs(p) {
		p = filepath.Join(defaultCwd, p)
	}
	abs := filepath.Clean(p)
	if err := statDir(abs); err != nil {
		return "", fmt.Errorf("workdir \"%s\" %w (resolved to \"%s\").", given, err, abs)
	}
	return abs, nil
}

// Why a workdir is unusable; the texts complete `workdir "<x>" ...`.
var (
	errNotDir = errors.New("is not a directory")
	errNoDir  = errors.New("does not exist")
)

// statDir checks that path is an existing directory.
func statDir(path string) error {
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
		return nil
	case err == nil:
		return errNotDir
	default:
		return statError(err)
	}
}

// statError words why a path could not be looked up (err is not nil).
func statError(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errNoDir
	case errors.Is(err, syscall.ENOTDIR):
		// A path component is a file: the directory cannot exist.
		return errNoDir
	default:
		reason := err.Error()
		var pe *fs.PathError
		if errors.As(err, &pe) {
			reason = pe.Err.Error()
		}
		return errors.New("is not accessible: " + reason)
	}
}

// waitExec waits according to the mode (docs/reference.md#exec-yield) and renders the result.
func (t *Tools) waitExec(ctx context.Context, req mcp.CallToolRequest, sess *sessions.Session, er execRequest, warnings []string) result {
	if er.mode == modeBackground {
		// Registered as backgrounded at spawn: even a command that already finished is retained.
		return renderRunning(sess.Info(), warnings)
	}

	stopProgress := t.startProgress(ctx, req, sess)
	defer stopProgress()

	var window <-chan time.Time
	if er.mode == modeYield {
		timer := time.NewTimer(er.window)
		defer timer.Stop()
		window = timer.C
	}
	select {
	case <-sess.Done():
		stopProgress()
		return renderForeground(sess.Info(), warnings)
	case <-window:
		stopProgress()
		if sess.Background() {
			return renderRunning(sess.Info(), warnings)
		}
		// Finalization won the race: it completes without waiting on anything, and its result wins.
		<-sess.Done()
		return renderForeground(sess.Info(), warnings)
	case <-ctx.Done():
		stopProgress()
		select {
		case <-sess.Done():
			return renderForeground(sess.Info(), warnings)
		default:
		}
		sess.CancelForeground()
		return renderCancelled(er.cwd)
	}
}
