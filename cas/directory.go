package cas

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/protobuf/proto"
)

// ReadDirectory reads and verifies the Directory message d. Its entries
// are checked too: names must be single path components, sorted and
// unique, and digests well formed, since a Directory may come from a
// remote cache and is untrusted.
func (s *LocalStore) ReadDirectory(ctx context.Context, d Digest) (*repb.Directory, error) {
	data, err := s.ReadBlob(ctx, d)
	if err != nil {
		return nil, err
	}
	dir := &repb.Directory{}
	if err := proto.Unmarshal(data, dir); err != nil {
		return nil, fmt.Errorf("directory %s: %w", d, err)
	}
	if err := CheckDirectory(dir); err != nil {
		return nil, fmt.Errorf("directory %s: %w", d, err)
	}
	return dir, nil
}

// PutDirectory stores a Directory message and returns its digest.
func (s *LocalStore) PutDirectory(ctx context.Context, dir *repb.Directory) (Digest, error) {
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(dir)
	if err != nil {
		return Digest{}, err
	}
	return s.PutBytes(ctx, data)
}

// CheckName reports whether name can be an entry of a Directory: one path
// component, not "." or "..", without NUL.
func CheckName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Errorf("invalid entry name %q", name)
	case strings.ContainsAny(name, "/\x00"):
		return fmt.Errorf("invalid entry name %q: it must be a single path component", name)
	}
	return nil
}

// CheckDirectory validates a Directory message's entries.
func CheckDirectory(dir *repb.Directory) error {
	seen := make(map[string]bool, len(dir.Files)+len(dir.Directories)+len(dir.Symlinks))
	check := func(name string) error {
		if err := CheckName(name); err != nil {
			return err
		}
		if seen[name] {
			return fmt.Errorf("entry %q appears twice", name)
		}
		seen[name] = true
		return nil
	}
	for _, f := range dir.Files {
		if err := check(f.Name); err != nil {
			return err
		}
		if _, err := DigestFromProto(f.Digest); err != nil {
			return fmt.Errorf("file %q: %w", f.Name, err)
		}
	}
	for _, sd := range dir.Directories {
		if err := check(sd.Name); err != nil {
			return err
		}
		if _, err := DigestFromProto(sd.Digest); err != nil {
			return fmt.Errorf("directory %q: %w", sd.Name, err)
		}
	}
	for _, l := range dir.Symlinks {
		if err := check(l.Name); err != nil {
			return err
		}
		if l.Target == "" || strings.ContainsRune(l.Target, 0) {
			return fmt.Errorf("symlink %q: invalid target %q", l.Name, l.Target)
		}
	}
	return nil
}

// Entry is one entry of a tree, as Walk reports it.
type Entry struct {
	// Path is relative to the tree's root, with "/" separators.
	Path string
	// Kind is 'f' (file), 'd' (directory) or 'l' (symlink).
	Kind       byte
	Digest     Digest // of the file's content or the Directory
	Executable bool
	Target     string // of a symlink
}

// Walk calls fn for every entry under the Directory root, parents before
// their entries, each directory's entries in name order.
func (s *LocalStore) Walk(ctx context.Context, root Digest, fn func(Entry) error) error {
	return s.walk(ctx, root, "", fn)
}

func (s *LocalStore) walk(ctx context.Context, d Digest, prefix string, fn func(Entry) error) error {
	dir, err := s.ReadDirectory(ctx, d)
	if err != nil {
		return err
	}
	for _, e := range sortedEntries(dir) {
		p := path.Join(prefix, e.Path)
		e.Path = p
		if err := fn(e); err != nil {
			return err
		}
		if e.Kind == 'd' {
			if err := s.walk(ctx, e.Digest, p, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// sortedEntries lists a checked Directory's entries by name.
func sortedEntries(dir *repb.Directory) []Entry {
	out := make([]Entry, 0, len(dir.Files)+len(dir.Directories)+len(dir.Symlinks))
	for _, f := range dir.Files {
		d, _ := DigestFromProto(f.Digest)
		out = append(out, Entry{Path: f.Name, Kind: 'f', Digest: d, Executable: f.IsExecutable})
	}
	for _, sd := range dir.Directories {
		d, _ := DigestFromProto(sd.Digest)
		out = append(out, Entry{Path: sd.Name, Kind: 'd', Digest: d})
	}
	for _, l := range dir.Symlinks {
		out = append(out, Entry{Path: l.Name, Kind: 'l', Target: l.Target})
	}
	sortEntries(out)
	return out
}

func sortEntries(es []Entry) {
	slices.SortFunc(es, func(a, b Entry) int { return strings.Compare(a.Path, b.Path) })
}

// Reachable calls fn once for every blob digest reachable from the
// Directory root: the Directory messages and the files' contents.
// Directories shared by several parts of the tree are visited once.
func (s *LocalStore) Reachable(ctx context.Context, root Digest, seen map[Digest]bool, fn func(Digest)) error {
	if seen[root] {
		return nil
	}
	seen[root] = true
	fn(root)
	dir, err := s.ReadDirectory(ctx, root)
	if err != nil {
		return err
	}
	for _, f := range dir.Files {
		d, _ := DigestFromProto(f.Digest)
		if !seen[d] {
			seen[d] = true
			fn(d)
		}
	}
	for _, sd := range dir.Directories {
		d, _ := DigestFromProto(sd.Digest)
		if err := s.Reachable(ctx, d, seen, fn); err != nil {
			return err
		}
	}
	return nil
}
