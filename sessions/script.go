package sessions

import "os"

// tempScript holds a long command in an unlinked temporary file where memfd is unavailable.
func tempScript(command string) (*os.File, error) {
	f, err := os.CreateTemp("", "execmcp-command-*")
	if err != nil {
		return nil, err
	}
	_ = os.Remove(f.Name())
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
