package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/cas/artifactpb"
)

// Cache is the source cache: staged sources kept in the CAS by key, so
// that staging a source again never downloads or extracts it again. It is
// laid out as BuildStream 2 lays it out in the cache directory:
//
//	<cachedir>/source_protos/<kind>/<sourcekey>   one source (buildstream.v2.Source)
//	<cachedir>/elementsources/<key>               all sources of an element, staged together
//
// where <sourcekey> is Key(source unique key) and <key> is Key of the
// element's list of {key, name, directory} (ElementKey). Each file is a
// serialized Source message naming the Directory of the staged files.
//
// Its refs keep their trees alive: Cache is a cas.RefSpace, registered
// with the store by NewCache, so expiry removes least recently used
// sources like artifacts and never sweeps the objects of the ones kept.
type Cache struct {
	store *cas.LocalStore
	root  string
}

// The cache's two directories, relative to the cache directory.
const (
	sourceProtos   = "source_protos"
	elementSources = "elementsources"
)

// NewCache returns the source cache of store and registers its refs as
// keeping objects alive. Call it once per opened store.
func NewCache(store *cas.LocalStore) *Cache {
	c := &Cache{store: store, root: store.Root()}
	store.AddRefSpace(c)
	return c
}

// SourceRef is the cache ref of a source: "<kind>/<sourcekey>".
func SourceRef(kind string, uniqueKey any) string { return kind + "/" + Key(uniqueKey) }

// ElementEntry is one source in ElementKey: its kind, unique key and
// directory.
type ElementEntry struct {
	Kind      string
	Directory string
	UniqueKey any
}

// ElementKey is the key of an element's sources taken together:
// BuildStream's ElementSources.get_unique_key hashed, that is the list of
// {"key": unique key, "name": kind} with "directory" when one is set.
func ElementKey(entries []ElementEntry) string {
	list := make([]any, len(entries))
	for i, e := range entries {
		d := map[string]any{"key": e.UniqueKey, "name": e.Kind}
		if e.Directory != "" {
			d["directory"] = e.Directory
		}
		list[i] = d
	}
	return Key(list)
}

func (c *Cache) sourcePath(ref string) string {
	return filepath.Join(c.root, sourceProtos, filepath.FromSlash(ref))
}

func (c *Cache) elementPath(key string) string {
	return filepath.Join(c.root, elementSources, key)
}

// checkRef refuses refs that could leave the cache directory.
func checkSourceRef(ref string) error {
	kind, key, ok := strings.Cut(ref, "/")
	if !ok || cas.CheckName(kind) != nil || cas.CheckName(key) != nil {
		return fmt.Errorf("invalid source ref %q", ref)
	}
	return nil
}

// Source returns the tree cached for the source ref ("<kind>/<key>"),
// and whether it is there complete: its ref file, its Directory messages
// and every file they name. A ref whose objects are gone counts as not
// cached. A hit marks the ref used, for expiry.
func (c *Cache) Source(ctx context.Context, ref string) (cas.Digest, bool) {
	if checkSourceRef(ref) != nil {
		return cas.Digest{}, false
	}
	return c.lookup(ctx, c.sourcePath(ref))
}

// PutSource records d as the tree of the source ref. Everything d names
// must be stored already.
func (c *Cache) PutSource(ctx context.Context, ref string, d cas.Digest) error {
	if err := checkSourceRef(ref); err != nil {
		return err
	}
	return c.put(ctx, c.sourcePath(ref), d, true)
}

// Element returns the tree cached for an element's sources by ElementKey.
func (c *Cache) Element(ctx context.Context, key string) (cas.Digest, bool) {
	if cas.CheckName(key) != nil {
		return cas.Digest{}, false
	}
	return c.lookup(ctx, c.elementPath(key))
}

// PutElement records d as the staged sources of the element sources key.
func (c *Cache) PutElement(ctx context.Context, key string, d cas.Digest) error {
	if err := cas.CheckName(key); err != nil {
		return err
	}
	return c.put(ctx, c.elementPath(key), d, true)
}

// putMade records a tree this process just stored (captured, or built of
// trees found complete), which needs no check.
func (c *Cache) putMade(ctx context.Context, path string, d cas.Digest) error {
	return c.put(ctx, path, d, false)
}

func (c *Cache) lookup(ctx context.Context, path string) (cas.Digest, bool) {
	d, err := readSourceProto(path)
	if err != nil {
		return cas.Digest{}, false
	}
	if !c.complete(ctx, d) {
		return cas.Digest{}, false
	}
	now := time.Now()
	os.Chtimes(path, now, now)
	return d, true
}

// complete reports whether the whole tree d is in the store.
func (c *Cache) complete(ctx context.Context, d cas.Digest) bool {
	ok := true
	err := c.store.Reachable(ctx, d, map[cas.Digest]bool{}, func(b cas.Digest) {
		if ok && !c.store.Has(b) {
			ok = false
		}
	})
	return err == nil && ok
}

func readSourceProto(path string) (cas.Digest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return cas.Digest{}, err
	}
	var sp artifactpb.Source
	if err := proto.Unmarshal(data, &sp); err != nil {
		return cas.Digest{}, fmt.Errorf("source cache: %s is unreadable: %w", path, err)
	}
	return cas.DigestFromProto(sp.GetFiles())
}

func (c *Cache) put(ctx context.Context, path string, d cas.Digest, check bool) error {
	if check && !c.complete(ctx, d) {
		return fmt.Errorf("source cache: recording %s: the tree %s is not completely stored", filepath.Base(path), d)
	}
	// BuildStream leaves the version unset, so do we: the files are
	// byte-for-byte what it writes.
	data, err := proto.Marshal(&artifactpb.Source{Files: d.Proto()})
	if err != nil {
		return err
	}
	if err := WriteFileAtomic(path, data, false); err != nil {
		return fmt.Errorf("source cache: %w", err)
	}
	return nil
}

// Refs lists every source and element sources ref (cas.RefSpace), named
// by their path under the cache directory.
func (c *Cache) Refs() ([]cas.Ref, error) {
	var out []cas.Ref
	for _, top := range []string{sourceProtos, elementSources} {
		base := filepath.Join(c.root, top)
		err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			if !d.Type().IsRegular() || strings.HasPrefix(d.Name(), ".") {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return nil
			}
			rel, _ := filepath.Rel(c.root, p)
			out = append(out, cas.Ref{Name: filepath.ToSlash(rel), LastUsed: info.ModTime()})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("source cache: %w", err)
		}
	}
	return out, nil
}

// refFile maps a RefSpace name back to its file, refusing anything else.
func (c *Cache) refFile(ref string) (string, error) {
	top, rest, _ := strings.Cut(ref, "/")
	switch top {
	case sourceProtos:
		if checkSourceRef(rest) == nil {
			return c.sourcePath(rest), nil
		}
	case elementSources:
		if cas.CheckName(rest) == nil {
			return c.elementPath(rest), nil
		}
	}
	return "", fmt.Errorf("invalid source cache ref %q", ref)
}

// Objects calls fn for every object the ref keeps (cas.RefSpace).
func (c *Cache) Objects(ctx context.Context, ref string, seen map[cas.Digest]bool, fn func(cas.Digest)) error {
	p, err := c.refFile(ref)
	if err != nil {
		return err
	}
	d, err := readSourceProto(p)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("source %s: %w", ref, cas.ErrNotFound)
	}
	if err != nil {
		return err
	}
	return c.store.Reachable(ctx, d, seen, fn)
}

// Remove deletes the ref (cas.RefSpace).
func (c *Cache) Remove(ref string) error {
	p, err := c.refFile(ref)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("source cache: %w", err)
	}
	return nil
}
