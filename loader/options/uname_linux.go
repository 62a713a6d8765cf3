package options

import "syscall"

// uname returns the machine and system names of the running kernel.
func uname() (machine, system string) {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return "", ""
	}
	return utsString(u.Machine[:]), utsString(u.Sysname[:])
}

// utsString converts a NUL-terminated utsname field; its element type is
// int8 or uint8 depending on the architecture.
func utsString[T int8 | uint8](f []T) string {
	b := make([]byte, 0, len(f))
	for _, c := range f {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}
