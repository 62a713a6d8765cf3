//go:build !linux

package options

// uname is only implemented on Linux; elsewhere the host is described from
// GOARCH and GOOS.
func uname() (machine, system string) { return "", "" }
