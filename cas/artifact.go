package cas

import (
	"context"
	"errors"
	"fmt"
	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/bstgo/bst/cas/artifactpb"
)

// ArtifactVersion is the Artifact.version bst writes, BuildStream 2's.
const ArtifactVersion = 2

// ArtifactCache keeps artifacts: serialized buildstream.v2.Artifact
// messages under <cachedir>/artifacts/refs/<project>/<normal-name>/<key>,
// as BuildStream 2 lays them out, each naming objects of the store.
type ArtifactCache struct {
	store *LocalStore
	dir   string
}

// NewArtifactCache returns the artifact cache of a store, and registers
// its refs as keeping objects alive.
func NewArtifactCache(s *LocalStore) *ArtifactCache {
	c := &ArtifactCache{store: s, dir: filepath.Join(s.root, "artifacts", "refs")}
	s.AddRefSpace(c)
	return c
}

// Store returns the object store.
func (c *ArtifactCache) Store() *LocalStore { return c.store }

// NormalName turns an element name into the form used in artifact refs:
// "/" becomes "-", the ".bst" suffix goes, and every character but ASCII
// letters, digits, "-", "." and "_" becomes "_".
func NormalName(element string) string {
	n := strings.ReplaceAll(element, "/", "-")
	if ext := filepath.Ext(n); ext != "" {
		n = strings.TrimSuffix(n, ext)
	}
	b := []byte(n)
	for i, ch := range b {
		if !(ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '.' || ch == '_') {
			b[i] = '_'
		}
	}
	return string(b)
}

// ArtifactRef returns the ref of an element's artifact under key:
// "<project>/<normal-name>/<key>".
func ArtifactRef(project, element, key string) string {
	return project + "/" + NormalName(element) + "/" + key
}

// checkRef refuses refs that are not three clean components.
func checkRef(ref string) error {
	parts := strings.Split(ref, "/")
	if len(parts) != 3 {
		return fmt.Errorf("invalid artifact ref %q: want <project>/<element>/<key>", ref)
	}
	for _, p := range parts {
		if err := CheckName(p); err != nil {
			return fmt.Errorf("invalid artifact ref %q: %w", ref, err)
		}
	}
	return nil
}

func (c *ArtifactCache) refPath(ref string) string {
	return filepath.Join(c.dir, filepath.FromSlash(ref))
}

// Contains reports whether ref is stored.
func (c *ArtifactCache) Contains(ref string) bool {
	if checkRef(ref) != nil {
		return false
	}
	_, err := os.Stat(c.refPath(ref))
	return err == nil
}

// Get reads the artifact of ref. A missing ref is ErrNotFound.
func (c *ArtifactCache) Get(ref string) (*artifactpb.Artifact, error) {
	if err := checkRef(ref); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(c.refPath(ref))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("artifact %s: %w", ref, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("local cache: %w", err)
	}
	a := &artifactpb.Artifact{}
	if err := proto.Unmarshal(data, a); err != nil {
		return nil, fmt.Errorf("artifact %s: unreadable: %w", ref, err)
	}
	return a, nil
}

// ElementsWithArtifacts returns the normal names of the project's
// elements that have at least one artifact.
func (c *ArtifactCache) ElementsWithArtifacts(project string) map[string]bool {
	out := map[string]bool{}
	if CheckName(project) != nil {
		return out
	}
	ents, _ := os.ReadDir(filepath.Join(c.dir, project))
	for _, e := range ents {
		out[e.Name()] = true
	}
	return out
}

// Success reports whether ref is stored and, if so, whether it records a
// successful build. It reads only that field of the artifact, which is
// what looking up thousands of elements' states needs.
func (c *ArtifactCache) Success(ref string) (found, success bool, err error) {
	if err := checkRef(ref); err != nil {
		return false, false, err
	}
	data, err := os.ReadFile(c.refPath(ref))
	if errors.Is(err, fs.ErrNotExist) {
		return false, false, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("local cache: %w", err)
	}
	for len(data) > 0 {
		num, typ, n := protowire.ConsumeTag(data)
		if n < 0 {
			return true, false, fmt.Errorf("artifact %s: unreadable", ref)
		}
		data = data[n:]
		if num == 2 && typ == protowire.VarintType { // build_success
			v, n := protowire.ConsumeVarint(data)
			if n < 0 {
				return true, false, fmt.Errorf("artifact %s: unreadable", ref)
			}
			return true, v != 0, nil
		}
		n = protowire.ConsumeFieldValue(num, typ, data)
		if n < 0 {
			return true, false, fmt.Errorf("artifact %s: unreadable", ref)
		}
		data = data[n:]
	}
	return true, false, nil
}

// Touch records that ref was used now, for least-recently-used expiry.
func (c *ArtifactCache) Touch(ref string) {
	if checkRef(ref) == nil {
		now := time.Now()
		os.Chtimes(c.refPath(ref), now, now)
	}
}

// Put records a under each of refs. Everything a names must be stored
// already: Put checks, so a ref never points at a partial artifact. Each
// ref is written to a temporary file, synced and renamed into place.
func (c *ArtifactCache) Put(ctx context.Context, a *artifactpb.Artifact, refs ...string) error {
	for _, ref := range refs {
		if err := checkRef(ref); err != nil {
			return err
		}
	}
	var missing []Digest
	err := c.objects(ctx, a, map[Digest]bool{}, func(d Digest) {
		if !c.store.Has(d) {
			missing = append(missing, d)
		}
	})
	if err != nil {
		return fmt.Errorf("recording artifact: %w", err)
	}
	if len(missing) > 0 {
		return fmt.Errorf("recording artifact: %d objects it names are not stored, such as %s", len(missing), missing[0])
	}
	data, err := proto.Marshal(a)
	if err != nil {
		return err
	}
	for _, ref := range refs {
		if err := writeFileAtomic(c.refPath(ref), c.store.tmp, data); err != nil {
			return storeError("recording artifact "+ref, err)
		}
	}
	return nil
}

// writeFileAtomic writes data to path through a synced temporary file in
// tmpDir (on the same file system) and a rename.
func writeFileAtomic(path, tmpDir string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(tmpDir, "ref-")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// Delete removes ref. Its objects go at the next expiry.
func (c *ArtifactCache) Delete(ref string) error {
	if err := checkRef(ref); err != nil {
		return err
	}
	err := os.Remove(c.refPath(ref))
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("artifact %s: %w", ref, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("local cache: %w", err)
	}
	// Drop directories the ref leaves empty.
	for d := filepath.Dir(c.refPath(ref)); d != c.dir && strings.HasPrefix(d, c.dir); d = filepath.Dir(d) {
		if os.Remove(d) != nil {
			break
		}
	}
	return nil
}

// List returns every stored ref, sorted.
func (c *ArtifactCache) List() ([]string, error) {
	refs, err := c.Refs()
	if err != nil {
		return nil, err
	}
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = r.Name
	}
	sort.Strings(out)
	return out, nil
}

// Refs lists every ref with the time it was last used (RefSpace).
func (c *ArtifactCache) Refs() ([]Ref, error) {
	var out []Ref
	projects, err := os.ReadDir(c.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("local cache: %w", err)
	}
	for _, p := range projects {
		elements, err := os.ReadDir(filepath.Join(c.dir, p.Name()))
		if err != nil {
			continue
		}
		for _, e := range elements {
			keys, err := os.ReadDir(filepath.Join(c.dir, p.Name(), e.Name()))
			if err != nil {
				continue
			}
			for _, k := range keys {
				info, err := k.Info()
				if err != nil || !info.Mode().IsRegular() {
					continue
				}
				out = append(out, Ref{Name: p.Name() + "/" + e.Name() + "/" + k.Name(), LastUsed: info.ModTime()})
			}
		}
	}
	return out, nil
}

// Remove deletes ref (RefSpace).
func (c *ArtifactCache) Remove(ref string) error {
	err := c.Delete(ref)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// Objects calls fn for every object the artifact of ref keeps (RefSpace).
func (c *ArtifactCache) Objects(ctx context.Context, ref string, seen map[Digest]bool, fn func(Digest)) error {
	a, err := c.Get(ref)
	if err != nil {
		return err
	}
	return c.objects(ctx, a, seen, fn)
}

// objects calls fn for every object a names: its trees, recursively, and
// its blobs.
func (c *ArtifactCache) objects(ctx context.Context, a *artifactpb.Artifact, seen map[Digest]bool, fn func(Digest)) error {
	for _, t := range ArtifactTrees(a) {
		if err := c.store.Reachable(ctx, t, seen, fn); err != nil {
			return err
		}
	}
	for _, b := range ArtifactBlobs(a) {
		if !seen[b] {
			seen[b] = true
			fn(b)
		}
	}
	return nil
}

// ArtifactTrees returns the Directory digests an artifact names: files,
// build tree, sources, build root and sub-sandboxes.
func ArtifactTrees(a *artifactpb.Artifact) []Digest {
	ps := []*repb.Digest{a.GetFiles(), a.GetBuildtree(), a.GetSources(), a.GetBuildroot()}
	return presentDigests(append(ps, a.GetBuildsandbox().GetSubsandboxDigests()...))
}

// ArtifactBlobs returns the file digests an artifact names: public data,
// metadata and logs.
func ArtifactBlobs(a *artifactpb.Artifact) []Digest {
	ps := []*repb.Digest{a.GetPublicData(), a.GetLowDiversityMeta(), a.GetHighDiversityMeta()}
	for _, l := range a.GetLogs() {
		ps = append(ps, l.GetDigest())
	}
	return presentDigests(ps)
}

// presentDigests converts the digests that are set and valid.
func presentDigests(ps []*repb.Digest) []Digest {
	var out []Digest
	for _, p := range ps {
		if p.GetHash() == "" {
			continue
		}
		if d, err := DigestFromProto(p); err == nil {
			out = append(out, d)
		}
	}
	return out
}
