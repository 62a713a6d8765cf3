package cas

import (
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/protobuf/proto"
)

// DirectoryDigest returns the digest of the REAPI Directory tree of the
// files at path, as BuildStream's CAS-based directories compute it when
// they import files: entries sorted by name, regular files with their
// content digest and executable bit (the owner's), symbolic links with their
// target, sub-directories by their own Directory digest, no node
// properties. A path that is a single file gives a directory holding that
// file.
func DirectoryDigest(path string) (Digest, error) {
	st, err := os.Lstat(path)
	if err != nil {
		return Digest{}, err
	}
	if st.IsDir() {
		return directoryDigest(path)
	}
	dir := &repb.Directory{}
	if err := addEntry(dir, filepath.Dir(path), st); err != nil {
		return Digest{}, err
	}
	return marshalDigest(dir)
}

func directoryDigest(path string) (Digest, error) {
	entries, err := os.ReadDir(path)
	if err != nil {
		return Digest{}, err
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].Name() < entries[j].Name() })
	dir := &repb.Directory{}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			return Digest{}, err
		}
		if err := addEntry(dir, path, info); err != nil {
			return Digest{}, err
		}
	}
	return marshalDigest(dir)
}

func addEntry(dir *repb.Directory, parent string, info os.FileInfo) error {
	full := filepath.Join(parent, info.Name())
	switch mode := info.Mode(); {
	case mode.IsDir():
		d, err := directoryDigest(full)
		if err != nil {
			return err
		}
		dir.Directories = append(dir.Directories, &repb.DirectoryNode{Name: info.Name(), Digest: d.Proto()})
	case mode.IsRegular():
		d, err := fileDigest(full)
		if err != nil {
			return err
		}
		dir.Files = append(dir.Files, &repb.FileNode{Name: info.Name(), Digest: d.Proto(), IsExecutable: mode&0o100 != 0})
	case mode&os.ModeSymlink != 0:
		target, err := os.Readlink(full)
		if err != nil {
			return err
		}
		dir.Symlinks = append(dir.Symlinks, &repb.SymlinkNode{Name: info.Name(), Target: target})
	default:
		return fmt.Errorf("%s: unsupported file type %s", full, mode.Type())
	}
	return nil
}

func fileDigest(path string) (Digest, error) {
	f, err := os.Open(path)
	if err != nil {
		return Digest{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return Digest{}, err
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return DigestOf(sum, n), nil
}

func marshalDigest(m proto.Message) (Digest, error) {
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return Digest{}, err
	}
	return NewDigest(data), nil
}
