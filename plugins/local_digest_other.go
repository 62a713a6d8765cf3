//go:build !unix

package plugins

import "github.com/bstgo/bst/cas"

// localDigest computes the digest of a local source's files.
func localDigest(path string) (cas.Digest, error) { return cas.DirectoryDigest(path) }
