package integration_test

// Reliability suites (docs/reliability.md), one file each: no orphans for every way a process can end
// (reliability_orphans_test.go), output floods (reliability_flood_test.go), bad input over stdio and HTTP
// (reliability_badinput_test.go), and a soak run, opt-in (reliability_soak_test.go). This file holds what they
// share.
//
// The normal run uses reduced sizes; EXECMCP_SLOW=1 (without -short) runs the full flood (10 x `yes` for 30 s).
// The soak runs only with EXECMCP_SOAK=<duration> (for example EXECMCP_SOAK=30m):
//
//	EXECMCP_SOAK=30m go test ./integration_test/ -run '^TestReliabilitySoak$' -v -timeout 40m

import "strconv"

// The kill grace of these tests: short, so that the TERM-ignoring commands are killed quickly.
const relKillGraceMs = 500

var relEnv = []string{"EXECMCP_KILL_GRACE_MS=" + strconv.Itoa(relKillGraceMs)}
