package options

// HostArch returns the host's architecture in BuildStream's canonical
// names (x86-64, aarch64, ...), or the machine name as the system gives it
// when BuildStream has no name for it.
func (p *Pool) HostArch() string {
	if a, err := CanonicalArch(p.hostArch); err == nil {
		return a
	}
	return p.hostArch
}

// HostOS returns the host's system name as `uname -s` prints it (Linux).
func (p *Pool) HostOS() string { return p.hostOS }
