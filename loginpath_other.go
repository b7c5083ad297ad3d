//go:build !linux

package main

import "syscall"

// setPdeathsig does nothing where the parent-death signal does not exist: the probe's deadline still ends it.
func setPdeathsig(*syscall.SysProcAttr) {}
