package options

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
)

// ErrUnknownArch is wrapped by the error returned when the host's machine
// name is not an architecture BuildStream knows, which only matters once an
// `arch` option is declared. (BuildStream reports it as a platform error, not
// a load error, so it is not a *node.Error.)
var ErrUnknownArch = errors.New("unknown architecture")

// archAliases maps every machine name BuildStream accepts, lower case and
// with underscores turned into dashes, to its canonical, OS-independent
// architecture name. It is BuildStream's table (Platform.canonicalize_arch);
// project `values` of an arch option must all be listed here.
var archAliases = map[string]string{
	"aarch32":      "aarch32",
	"arm":          "aarch32",
	"aarch64":      "aarch64",
	"armv8l":       "aarch64",
	"aarch64-be":   "aarch64-be",
	"armv8b":       "aarch64-be",
	"x86-64":       "x86-64",
	"amd64":        "x86-64",
	"x86-32":       "x86-32",
	"i386":         "x86-32",
	"i486":         "x86-32",
	"i586":         "x86-32",
	"i686":         "x86-32",
	"la64v100":     "la64v100",
	"loong64":      "la64v100",
	"loongarch64":  "la64v100",
	"power-isa-be": "power-isa-be",
	"powerpc":      "power-isa-be",
	"powerpc64":    "power-isa-be",
	"ppc64":        "power-isa-be",
	"power-isa-le": "power-isa-le",
	"powerpc64le":  "power-isa-le",
	"ppc64le":      "power-isa-le",
	"rv32g":        "rv32g",
	"riscv32":      "rv32g",
	"rv64g":        "rv64g",
	"riscv64":      "rv64g",
	"sparc-v9":     "sparc-v9",
	"sparc":        "sparc-v9",
	"sparc64":      "sparc-v9",
	"sun4v":        "sparc-v9",
}

// CanonicalArch returns the canonical name of a machine architecture
// ("x86_64" → "x86-64", "i686" → "x86-32", "ppc64le" → "power-isa-le"), or
// an error wrapping ErrUnknownArch.
func CanonicalArch(machine string) (string, error) {
	if c, ok := archAliases[strings.ToLower(strings.ReplaceAll(machine, "_", "-"))]; ok {
		return c, nil
	}
	return "", fmt.Errorf("%w: %s", ErrUnknownArch, machine)
}

// goArches translates the GOARCH spellings that BuildStream's table lacks.
// They are only accepted for the host architecture given to NewPool, never
// in a project's `values`, where BuildStream would refuse them.
var goArches = map[string]string{
	"386":   "i386",
	"arm64": "aarch64",
}

// goOSes translates GOOS spellings into what uname(2) reports as the system
// name, which is what BuildStream uses as the default of an `os` option.
var goOSes = map[string]string{
	"aix":       "AIX",
	"darwin":    "Darwin",
	"dragonfly": "DragonFly",
	"freebsd":   "FreeBSD",
	"illumos":   "SunOS",
	"linux":     "Linux",
	"netbsd":    "NetBSD",
	"openbsd":   "OpenBSD",
	"solaris":   "SunOS",
	"windows":   "Windows",
}

// hostMachine and hostSystem return what uname reports for the machine and
// the system, falling back on Go's idea of the platform.
func hostMachine() string {
	if m, _ := uname(); m != "" {
		return m
	}
	return runtime.GOARCH
}

func hostSystem() string {
	if _, s := uname(); s != "" {
		return s
	}
	if s, ok := goOSes[runtime.GOOS]; ok {
		return s
	}
	return runtime.GOOS
}
