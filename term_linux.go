package main

import "golang.org/x/sys/unix"

// ioctlReadTermios reads a terminal's attributes: isTerminal's test.
const ioctlReadTermios = unix.TCGETS
