package source

import (
	"context"
	"fmt"
	"io/fs"
	"sort"
	"strings"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"

	"github.com/bstgo/bst/cas"
)

// treeEditor edits a Directory tree of the store in memory: reading,
// writing and removing single files, then storing the directories that
// changed. Only the directories on the paths touched are read.
type treeEditor struct {
	store *cas.LocalStore
	root  *editDir
}

type editDir struct {
	digest cas.Digest
	loaded bool
	dirty  bool
	files  map[string]*repb.FileNode
	links  map[string]*repb.SymlinkNode
	dirs   map[string]*editDir
}

func newTreeEditor(store *cas.LocalStore, root cas.Digest) *treeEditor {
	return &treeEditor{store: store, root: &editDir{digest: root}}
}

func (t *treeEditor) load(ctx context.Context, d *editDir) error {
	if d.loaded {
		return nil
	}
	d.files, d.links, d.dirs = map[string]*repb.FileNode{}, map[string]*repb.SymlinkNode{}, map[string]*editDir{}
	d.loaded = true
	if d.digest.IsZero() {
		return nil
	}
	dir, err := t.store.ReadDirectory(ctx, d.digest)
	if err != nil {
		return err
	}
	for _, f := range dir.Files {
		d.files[f.Name] = f
	}
	for _, l := range dir.Symlinks {
		d.links[l.Name] = l
	}
	for _, sd := range dir.Directories {
		dg, err := cas.DigestFromProto(sd.Digest)
		if err != nil {
			return err
		}
		d.dirs[sd.Name] = &editDir{digest: dg}
	}
	return nil
}

// walk returns the directory holding p and p's last component, creating
// directories when create is set. The chain of directories is returned
// to mark them dirty.
func (t *treeEditor) walk(ctx context.Context, p string, create bool) (*editDir, string, []*editDir, error) {
	comps := strings.Split(p, "/")
	d := t.root
	chain := []*editDir{d}
	for i, c := range comps[:len(comps)-1] {
		if err := t.load(ctx, d); err != nil {
			return nil, "", nil, err
		}
		next := d.dirs[c]
		if next == nil {
			if d.files[c] != nil || d.links[c] != nil {
				return nil, "", nil, &PatchError{strings.Join(comps[:i+1], "/"), "is not a directory"}
			}
			if !create {
				return nil, "", nil, nil
			}
			next = &editDir{loaded: true, files: map[string]*repb.FileNode{}, links: map[string]*repb.SymlinkNode{}, dirs: map[string]*editDir{}}
			d.dirs[c] = next
		}
		d = next
		chain = append(chain, d)
	}
	if err := t.load(ctx, d); err != nil {
		return nil, "", nil, err
	}
	return d, comps[len(comps)-1], chain, nil
}

type fileStat struct{ size int64 }

func (f fileStat) Size() int64 { return f.size }

// stat reports whether p is a regular file, and its size.
func (t *treeEditor) stat(ctx context.Context, p string) (fileStat, bool, error) {
	d, name, _, err := t.walk(ctx, p, false)
	if err != nil || d == nil {
		return fileStat{}, false, err
	}
	if f := d.files[name]; f != nil {
		return fileStat{size: f.GetDigest().GetSizeBytes()}, true, nil
	}
	return fileStat{}, false, nil
}

// readFile returns the content of the file p and whether it is
// executable; a missing file is ok == false. Symlinks and directories are
// errors: patch refuses to patch them.
func (t *treeEditor) readFile(ctx context.Context, p string) (data []byte, exec, ok bool, err error) {
	d, name, _, err := t.walk(ctx, p, false)
	if err != nil || d == nil {
		return nil, false, false, err
	}
	if d.links[name] != nil {
		return nil, false, false, &PatchError{p, "is a symbolic link, not a regular file: refusing to patch it"}
	}
	if d.dirs[name] != nil {
		return nil, false, false, &PatchError{p, "is a directory, not a regular file"}
	}
	f := d.files[name]
	if f == nil {
		return nil, false, false, nil
	}
	dg, err := cas.DigestFromProto(f.Digest)
	if err != nil {
		return nil, false, false, err
	}
	data, err = t.store.ReadBlob(ctx, dg)
	if err != nil {
		return nil, false, false, fmt.Errorf("reading %s: %w", p, err)
	}
	return data, f.IsExecutable, true, nil
}

// writeFile stores data as the file p, creating directories.
func (t *treeEditor) writeFile(ctx context.Context, p string, data []byte, exec bool) error {
	d, name, chain, err := t.walk(ctx, p, true)
	if err != nil {
		return err
	}
	if d.dirs[name] != nil {
		return &PatchError{p, "is a directory, not a regular file"}
	}
	dg, err := t.store.PutBytes(ctx, data)
	if err != nil {
		return err
	}
	delete(d.links, name)
	d.files[name] = &repb.FileNode{Name: name, Digest: dg.Proto(), IsExecutable: exec}
	for _, c := range chain {
		c.dirty = true
	}
	return nil
}

// remove deletes the file p.
func (t *treeEditor) remove(ctx context.Context, p string) error {
	d, name, chain, err := t.walk(ctx, p, false)
	if err != nil {
		return err
	}
	if d == nil || d.files[name] == nil {
		return &PatchError{p, fmt.Sprintf("cannot delete it: %v", fs.ErrNotExist)}
	}
	delete(d.files, name)
	for _, c := range chain {
		c.dirty = true
	}
	return nil
}

// digest stores the changed directories and returns the root's digest.
func (t *treeEditor) digest(ctx context.Context) (cas.Digest, error) { return t.store0(ctx, t.root) }

func (t *treeEditor) store0(ctx context.Context, d *editDir) (cas.Digest, error) {
	if !d.dirty && !d.digest.IsZero() {
		return d.digest, nil
	}
	if err := t.load(ctx, d); err != nil {
		return cas.Digest{}, err
	}
	dir := &repb.Directory{}
	for _, name := range sortedKeys(d.files) {
		dir.Files = append(dir.Files, d.files[name])
	}
	for _, name := range sortedKeys(d.dirs) {
		sd, err := t.store0(ctx, d.dirs[name])
		if err != nil {
			return cas.Digest{}, err
		}
		dir.Directories = append(dir.Directories, &repb.DirectoryNode{Name: name, Digest: sd.Proto()})
	}
	for _, name := range sortedKeys(d.links) {
		dir.Symlinks = append(dir.Symlinks, d.links[name])
	}
	dg, err := t.store.PutDirectory(ctx, dir)
	if err != nil {
		return cas.Digest{}, err
	}
	d.digest, d.dirty = dg, false
	return dg, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// ReplaceSubtree returns root with the directory at p (created if
// missing) replaced by sub; p "" replaces the whole tree.
func ReplaceSubtree(ctx context.Context, store *cas.LocalStore, root cas.Digest, p string, sub cas.Digest) (cas.Digest, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return sub, nil
	}
	t := newTreeEditor(store, root)
	// Walking to a child of p creates the directories down to p; the
	// chain ends with p's directory, whose parent gets sub instead.
	_, _, chain, err := t.walk(ctx, p+"/x", true)
	if err != nil {
		return cas.Digest{}, err
	}
	parent := chain[len(chain)-2]
	last := p[strings.LastIndex(p, "/")+1:]
	delete(parent.files, last)
	delete(parent.links, last)
	parent.dirs[last] = &editDir{digest: sub}
	for _, c := range chain[:len(chain)-1] {
		c.dirty = true
	}
	return t.digest(ctx)
}

// Subtree returns the Directory at p in root, or the empty directory's
// digest when there is nothing there.
func Subtree(ctx context.Context, store *cas.LocalStore, root cas.Digest, p string) (cas.Digest, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return root, nil
	}
	t := newTreeEditor(store, root)
	d, _, _, err := t.walk(ctx, p+"/x", false)
	if err != nil {
		return cas.Digest{}, err
	}
	if d == nil {
		return store.PutDirectory(ctx, &repb.Directory{})
	}
	return t.store0(ctx, d)
}
