//go:build race

package main

// A race-enabled binary sleeps a second before it exits (the race detector's atexit_sleep_ms), and the server waits
// for its guardian's exit at every orderly shutdown: in race builds (the tests) the guardian does not sleep.
func init() { guardianEnv = append(guardianEnv, "GORACE=atexit_sleep_ms=0") }
