//go:build !unix

package loader

import "os"

// fileReader reads files; on this system it is os.ReadFile.
type fileReader struct{}

func (r *fileReader) read(path string) ([]byte, error) { return os.ReadFile(path) }

func (r *fileReader) close() {}

// prefetch does nothing here: read reads each file when asked.
func (r *fileReader) prefetch(paths []string) {}

// ringFiles is how many queued elements a loader worker takes at once.
const ringFiles = 32
