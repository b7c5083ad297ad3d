package policy

// Denial is a policy decision against a request. Error returns Message, the
// exact user-facing text (policy.md); callers must not decorate it.
//
// Functions of this package return denials as *Denial; use errors.As with a
// **Denial target (var d *policy.Denial; errors.As(err, &d)).
type Denial struct{ Message string }

// Error returns the exact user-facing message.
func (d *Denial) Error() string { return d.Message }

func deny(msg string) error { return &Denial{Message: msg} }

// Input limits of policy.md §7. The checks themselves (with their messages)
// are done by the tool adapters while decoding arguments.
const (
	// MaxCommandBytes is the largest exec command, in bytes of UTF-8.
	MaxCommandBytes = 262144
	// MaxWorkdirBytes is the largest exec workdir, in bytes of UTF-8.
	MaxWorkdirBytes = 4096
	// MaxEnvEntries is the largest number of exec env entries.
	MaxEnvEntries = 256
	// MaxInputBytes is the largest process write data, paste payload
	// (markers included) and send-keys payload, in bytes.
	MaxInputBytes = 1048576
	// MaxKeyItems is the largest number of items of process keys and of hex.
	MaxKeyItems = 4096
)
