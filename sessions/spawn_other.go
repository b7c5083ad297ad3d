//go:build !linux

package sessions

import (
	"os"
	"syscall"
)

// setPdeathsig is a no-op where the OS has no parent-death signal.
func setPdeathsig(*syscall.SysProcAttr) {}

func scriptFile(command string) (*os.File, error) { return tempScript(command) }

func growPipe(int) bool { return false }

// liveGroups trusts kill(-pgid, 0) where there is no /proc to tell zombies apart.
func liveGroups(candidates []int) []int { return candidates }
