package cas

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
)

// Tree is an editable, in-memory view of a Directory tree in a store:
// what staging several artifacts into one root, picking a subdirectory or
// filtering by split rules works on, without touching the disk. Only the
// directories that are visited are read, and only modified ones are
// written back by Digest.
type Tree struct {
	store *LocalStore
	root  *treeDir
}

type treeDir struct {
	digest  Digest // valid while not dirty; zero for a new directory
	loaded  bool
	dirty   bool
	entries map[string]*treeNode
}

type treeNode struct {
	kind   byte // 'f', 'd' or 'l'
	digest Digest
	exec   bool
	target string
	dir    *treeDir // for 'd'
}

// NewTree returns an empty tree.
func (s *LocalStore) NewTree() *Tree {
	return &Tree{store: s, root: &treeDir{loaded: true, dirty: true, entries: map[string]*treeNode{}}}
}

// LoadTree returns a tree holding the Directory d.
func (s *LocalStore) LoadTree(d Digest) *Tree {
	return &Tree{store: s, root: &treeDir{digest: d}}
}

func (t *Tree) load(ctx context.Context, d *treeDir) error {
	if d.loaded {
		return nil
	}
	dir, err := t.store.ReadDirectory(ctx, d.digest)
	if err != nil {
		return err
	}
	d.entries = make(map[string]*treeNode, len(dir.Files)+len(dir.Directories)+len(dir.Symlinks))
	for _, e := range sortedEntries(dir) {
		n := &treeNode{kind: e.Kind, digest: e.Digest, exec: e.Executable, target: e.Target}
		if e.Kind == 'd' {
			n.dir = &treeDir{digest: e.Digest}
		}
		d.entries[e.Path] = n
	}
	d.loaded = true
	return nil
}

// splitPath turns "/a/b/" into ["a", "b"], refusing "..".
func splitPath(p string) ([]string, error) {
	var out []string
	for _, c := range strings.Split(p, "/") {
		switch c {
		case "", ".":
			continue
		case "..":
			return nil, fmt.Errorf("path %q goes up with ..", p)
		}
		out = append(out, c)
	}
	return out, nil
}

// dirAt returns the directory at p, creating missing ones when create is
// set; it does not follow symlinks (BuildStream 2 does not either).
func (t *Tree) dirAt(ctx context.Context, p string, create bool) (*treeDir, []*treeDir, error) {
	comps, err := splitPath(p)
	if err != nil {
		return nil, nil, err
	}
	d := t.root
	chain := []*treeDir{d}
	for i, c := range comps {
		if err := t.load(ctx, d); err != nil {
			return nil, nil, err
		}
		n := d.entries[c]
		switch {
		case n == nil && create:
			n = &treeNode{kind: 'd', dir: &treeDir{loaded: true, dirty: true, entries: map[string]*treeNode{}}}
			d.entries[c] = n
			markDirty(chain)
		case n == nil:
			return nil, nil, fmt.Errorf("/%s: %w", path.Join(comps[:i+1]...), ErrNotFound)
		case n.kind != 'd':
			return nil, nil, fmt.Errorf("/%s is a %s, not a directory", path.Join(comps[:i+1]...), kindName(n.kind))
		}
		d = n.dir
		chain = append(chain, d)
	}
	if err := t.load(ctx, d); err != nil {
		return nil, nil, err
	}
	return d, chain, nil
}

func markDirty(chain []*treeDir) {
	for _, d := range chain {
		d.dirty = true
	}
}

func kindName(k byte) string {
	switch k {
	case 'f':
		return "file"
	case 'l':
		return "symlink"
	}
	return "directory"
}

// ImportResult says what an Import did, with paths relative to the
// destination root and without a leading "/".
type ImportResult struct {
	// Written lists the files and symlinks imported.
	Written []string
	// Overwritten lists the entries that replaced something already there
	// (a file or symlink, or an empty directory).
	Overwritten []string
	// Ignored lists files not imported because a non-empty directory of
	// the same name was there.
	Ignored []string
}

// Import merges the tree src into this tree at the directory at, as
// BuildStream 2 stages artifacts: directories merge, a file or symlink
// replaces a file, symlink or empty directory of the same name (an
// overlap), a file meeting a non-empty directory is ignored, and a
// directory meeting a file or symlink is an error. keep, when not nil,
// decides which paths (relative to src's root) are imported.
func (t *Tree) Import(ctx context.Context, src Digest, at string, keep func(p string) bool) (ImportResult, error) {
	var res ImportResult
	dst, chain, err := t.dirAt(ctx, at, true)
	if err != nil {
		return res, err
	}
	from := &Tree{store: t.store, root: &treeDir{digest: src}}
	prefix := strings.Join(mustSplit(at), "/")
	changed, err := t.importDir(ctx, from, from.root, dst, "", prefix, keep, &res)
	if changed {
		markDirty(chain)
	}
	return res, err
}

func mustSplit(p string) []string {
	c, _ := splitPath(p)
	return c
}

func (t *Tree) importDir(ctx context.Context, from *Tree, src, dst *treeDir, rel, prefix string, keep func(string) bool, res *ImportResult) (bool, error) {
	if err := from.load(ctx, src); err != nil {
		return false, err
	}
	changed := false
	for _, name := range sortedNames(src.entries) {
		e := src.entries[name]
		p := path.Join(rel, name)
		shown := path.Join(prefix, p)
		if e.kind == 'd' {
			existing := dst.entries[name]
			if existing == nil && keep == nil {
				// Take the whole directory by digest.
				dst.entries[name] = &treeNode{kind: 'd', digest: e.digest, dir: &treeDir{digest: e.digest}}
				changed = true
				if err := t.listWritten(ctx, from, e.dir, shown, res); err != nil {
					return changed, err
				}
				continue
			}
			created := false
			if existing == nil {
				existing = &treeNode{kind: 'd', dir: &treeDir{loaded: true, dirty: true, entries: map[string]*treeNode{}}}
				dst.entries[name] = existing
				created = true
			} else if existing.kind != 'd' {
				return changed, fmt.Errorf("cannot stage directory /%s: a %s is in the way", shown, kindName(existing.kind))
			}
			if err := t.load(ctx, existing.dir); err != nil {
				return changed, err
			}
			sub, err := t.importDir(ctx, from, e.dir, existing.dir, p, prefix, keep, res)
			if err != nil {
				return changed, err
			}
			if sub || created {
				existing.dir.dirty = true
				changed = true
			}
			if created && keep != nil && !keep(p) && len(existing.dir.entries) == 0 {
				delete(dst.entries, name) // filtered out entirely
			}
			continue
		}
		if keep != nil && !keep(p) {
			continue
		}
		if existing := dst.entries[name]; existing != nil {
			if existing.kind == 'd' {
				if err := t.load(ctx, existing.dir); err != nil {
					return changed, err
				}
				if len(existing.dir.entries) > 0 {
					res.Ignored = append(res.Ignored, shown)
					continue
				}
			}
			res.Overwritten = append(res.Overwritten, shown)
		}
		cp := *e
		dst.entries[name] = &cp
		changed = true
		res.Written = append(res.Written, shown)
	}
	return changed, nil
}

// listWritten adds every file and symlink under d to res.Written.
func (t *Tree) listWritten(ctx context.Context, from *Tree, d *treeDir, prefix string, res *ImportResult) error {
	if err := from.load(ctx, d); err != nil {
		return err
	}
	for _, name := range sortedNames(d.entries) {
		e := d.entries[name]
		if e.kind == 'd' {
			if err := t.listWritten(ctx, from, e.dir, path.Join(prefix, name), res); err != nil {
				return err
			}
			continue
		}
		res.Written = append(res.Written, path.Join(prefix, name))
	}
	return nil
}

func sortedNames(m map[string]*treeNode) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Subtree returns the digest of the directory at p.
func (t *Tree) Subtree(ctx context.Context, p string) (Digest, error) {
	d, _, err := t.dirAt(ctx, p, false)
	if err != nil {
		return Digest{}, err
	}
	return t.digestOf(ctx, d)
}

// Digest stores the tree's modified directories and returns the root's
// digest.
func (t *Tree) Digest(ctx context.Context) (Digest, error) { return t.digestOf(ctx, t.root) }

func (t *Tree) digestOf(ctx context.Context, d *treeDir) (Digest, error) {
	if !d.dirty && !d.digest.IsZero() {
		return d.digest, nil
	}
	dir := &repb.Directory{}
	for _, name := range sortedNames(d.entries) {
		e := d.entries[name]
		switch e.kind {
		case 'f':
			dir.Files = append(dir.Files, &repb.FileNode{Name: name, Digest: e.digest.Proto(), IsExecutable: e.exec})
		case 'l':
			dir.Symlinks = append(dir.Symlinks, &repb.SymlinkNode{Name: name, Target: e.target})
		case 'd':
			sd, err := t.digestOf(ctx, e.dir)
			if err != nil {
				return Digest{}, err
			}
			e.digest = sd
			dir.Directories = append(dir.Directories, &repb.DirectoryNode{Name: name, Digest: sd.Proto()})
		}
	}
	dg, err := t.store.PutDirectory(ctx, dir)
	if err != nil {
		return Digest{}, err
	}
	d.digest, d.dirty = dg, false
	return dg, nil
}
