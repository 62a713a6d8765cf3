//go:build !unix

package loader

import "os"

// fileReader reads files; on this system it is os.ReadFile.
type fileReader struct{}

func (r *fileReader) read(path string) ([]byte, error) { return os.ReadFile(path) }

func (r *fileReader) close() {}
