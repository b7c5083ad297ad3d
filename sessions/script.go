package sessions

import "os"

// tempScript holds a long command in an unlinked temporary file where memfd is unavailable.
func tempScript(command string) (*os.File, error) {
	f, err := os.CreateTemp("", "execmcp-command-*")
	if err != nil {
		return nil, err
	}
	_ = os.Remove(f.Name())
	return fillScript(f, command)
}

// fillScript writes command to the empty file f and rewinds it for the shell to read; on failure f is closed.
func fillScript(f *os.File, command string) (*os.File, error) {
	if _, err := f.WriteString(command); err != nil {
		_ = f.Close()
		return nil, err
	}
	if _, err := f.Seek(0, 0); err != nil {
		_ = f.Close()
		return nil, err
	}
	return f, nil
}
