//go:build !linux

package guardian

// dropExecutablePages is Linux-only (pages_linux.go).
func dropExecutablePages() {}
