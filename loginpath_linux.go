package main

import "syscall"

// setPdeathsig kills the probe's shell if the server dies during the probe.
func setPdeathsig(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGKILL }
