// Package sandbox will run build commands in a rootless libcontainer
// sandbox that contains nothing from the host: the staged dependencies
// read-only, writable build and install roots, a minimal /dev, /proc and a
// private /tmp, and no network. It arrives with the sandbox issue; until
// then nothing imports it.
package sandbox
