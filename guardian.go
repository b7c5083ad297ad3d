// This file owns the start of the guardian process and of the server's cgroup (docs/reference.md#guardian,
// docs/reference.md#cgroups). The guardian process itself begins in package internal/guardian.

package main

import (
	"crypto/rand"
	"io"
	"log/slog"

	"github.com/execmcp/execmcp/internal/guardian"
	"github.com/execmcp/execmcp/sessions"
)

// guardianArgv0 names the guardian process in ps and /proc/<pid>/cmdline.
const guardianArgv0 = "execmcp-guardian"

// guardianEnv is the guardian's environment besides its token: one processor is all it needs, and fewer threads
// wake for each record it reads (race builds add to it: guardian_race.go).
var guardianEnv = []string{"GOMAXPROCS=1"}

// openCgroups returns the server's cgroup when EXECMCP_CGROUP allows it and the system does; otherwise nil, after
// saying once at info level why. It removes the empty cgroups that servers killed without their guardian left.
func openCgroups(cfg config, logger *slog.Logger) *sessions.Cgroups {
	if cfg.Cgroup == "off" {
		return nil
	}
	cg, err := sessions.OpenCgroups()
	if err != nil {
		logger.Info(sessions.CgroupsUnavailable, "reason", err.Error())
		return nil
	}
	removed, busy, err := cg.RemoveStale()
	if err != nil {
		logger.Warn("cgroups of killed servers not removed", "err", err)
	}
	for _, dir := range removed {
		logger.Debug("removed the cgroup of a server that is gone", "dir", dir)
	}
	for _, dir := range busy {
		logger.Warn("the cgroup of a server that is gone still holds processes", "dir", dir)
	}
	return cg
}

// startGuardian starts the guardian unless EXECMCP_GUARDIAN is off. It does not wait for the process: the server
// answers initialize meanwhile. Nil means no guardian (off, or the pipe could not be made: logged).
func startGuardian(cfg config, cg *sessions.Cgroups, logger *slog.Logger, stderr io.Writer) *sessions.Guardian {
	if cfg.Guardian == "off" {
		return nil
	}
	token := rand.Text()
	root := ""
	if cg != nil {
		root = cg.Dir()
	}
	g, err := sessions.StartGuardian(sessions.GuardianOptions{
		Args:   []string{guardianArgv0},
		Env:    append([]string{guardian.TokenVar + "=" + token}, guardianEnv...),
		Token:  token,
		Root:   root,
		Stderr: stderr,
		Logger: logger,
	})
	if err != nil {
		logger.Warn("guardian not started; running without it", "err", err)
		return nil
	}
	return g
}
