package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/loader/node"
	"github.com/bstgo/bst/source"
)

// The source kinds of buildstream-plugins-community, buildstream-plugins'
// docker and the freedesktop SDK's ostree_mirror. Each accepts the Python
// plugin's configuration keys and gives its unique key, so elements load
// and get the cache keys BuildStream computes. Which of them also fetch
// and stage in bst is said on each kind and in docs/plugins.md.

// versionGuess is the community plugins' VersionGuesser: `version`, or
// else `version-guess-pattern`, is appended to the unique key.
type versionGuess struct {
	version, pattern *string
}

func configureVersionGuess(cfg *node.Node) (versionGuess, error) {
	var g versionGuess
	for _, opt := range []struct {
		key string
		dst **string
	}{{"version", &g.version}, {"version-guess-pattern", &g.pattern}} {
		v, err := cfg.GetScalar(opt.key, true)
		if err != nil {
			return g, err
		}
		if v != nil {
			s := v.Value()
			*opt.dst = &s
		}
	}
	// The pattern is a Python regular expression (lookbehinds included),
	// which bst does not evaluate: it only enters the key.
	return g, nil
}

// list appends the guess to a list key.
func (g versionGuess) list(key []any) []any {
	if g.version != nil {
		return append(key, *g.version)
	}
	if g.pattern != nil {
		return append(key, *g.pattern)
	}
	return key
}

// dict adds the guess to a mapping key.
func (g versionGuess) dict(key map[string]any) map[string]any {
	if g.version != nil {
		key["version"] = *g.version
	} else if g.pattern != nil {
		key["version-guess-pattern"] = *g.pattern
	}
	return key
}

// describeRef is the form of the community git plugins' refs: a commit,
// or `git describe --long` output (tag-N-gCOMMIT).
var describeRef = regexp.MustCompile(`^(?:(.*)-([0-9]+)-g)?([0-9a-f]{7,40})$`)

func checkDescribeRef(n *node.Node) error {
	if !describeRef.MatchString(n.Value()) {
		return node.Errorf(n.Prov(), node.InvalidData, "ref %s is not in the expected format", n.Value())
	}
	return nil
}

// translated checks that url's alias, if any, is defined.
func translated(ctx source.Context, cfg *node.Node, key, def string) (orig, full string, err error) {
	v, err := cfg.GetScalar(key, def != "")
	if err != nil {
		return "", "", err
	}
	if v == nil {
		orig = def
		full, err = ctx.TranslateURL(def, cfg.Prov())
		return orig, full, err
	}
	orig = v.Value()
	full, err = ctx.TranslateURL(orig, v.Prov())
	return orig, full, err
}

// configOnly is a source bst loads and keys but does not fetch: fetching
// it fails with a message naming the kind.
type configOnly struct {
	kind     string
	resolved bool
	key      any
}

func (s *configOnly) Resolved() bool { return s.resolved }
func (s *configOnly) UniqueKey() any { return s.key }

func (s *configOnly) IsCached(*source.FetchContext) bool { return false }
func (s *configOnly) Fetch(context.Context, *source.FetchContext) error {
	return notFetchable(s.kind)
}
func (s *configOnly) StageFetched(context.Context, *source.FetchContext) (cas.Digest, error) {
	return cas.Digest{}, notFetchable(s.kind)
}
func (s *configOnly) Stage(context.Context, *cas.LocalStore) (cas.Digest, error) {
	return cas.Digest{}, notFetchable(s.kind)
}

func notFetchable(kind string) error {
	return &node.Error{Reason: node.InvalidData,
		Msg:    "bst cannot fetch '" + kind + "' sources yet",
		Detail: "bst loads these sources and computes their keys; fetching them is not implemented (see docs/plugins.md)."}
}

// gitRepoKind is the community git_repo: one repository, no submodules,
// refs in git-describe form when ref-format says so.
type gitRepoKind struct{}

func (gitRepoKind) Name() string { return "git_repo" }
func (gitRepoKind) ConfigKeys() []string {
	return []string{"ref", "url", "track", "exclude", "ref-format", "version", "version-guess-pattern"}
}

func (gitRepoKind) Configure(ctx source.Context, cfg *node.Node) (source.Source, error) {
	if _, _, err := translated(ctx, cfg, "url", ""); err != nil {
		return nil, err
	}
	var ref any
	if r := cfg.Get("ref"); r != nil {
		if !r.IsScalar() {
			return nil, node.Errorf(r.Prov(), node.InvalidData, "value of 'ref' is not of the expected type 'str'")
		}
		if err := checkDescribeRef(r); err != nil {
			return nil, err
		}
		ref = r.Value()
	}
	if _, err := cfg.GetString("track", ""); err != nil {
		return nil, err
	}
	if _, err := cfg.GetStringList("exclude"); err != nil {
		return nil, err
	}
	if rf, err := cfg.GetString("ref-format", "sha1"); err != nil {
		return nil, err
	} else if rf != "sha1" && rf != "git-describe" {
		return nil, node.Errorf(cfg.KeyProv("ref-format"), node.InvalidData, "value of 'ref-format' should be one of: sha1, git-describe")
	}
	g, err := configureVersionGuess(cfg)
	if err != nil {
		return nil, err
	}
	key := g.dict(map[string]any{"ref": ref, "bugfix": 1})
	if ref == nil {
		return &configOnly{kind: "git_repo", key: key}, nil
	}
	// Fetching and staging are the git kind's, for the one repository
	// without submodules (git_repo leaves those to git_module sources)
	// and without its track, whose globs git's track does not take.
	inner := node.NewMapping(node.Synthetic)
	inner.Set("url", cfg.Get("url"))
	inner.Set("ref", cfg.Get("ref"))
	inner.Set("checkout-submodules", node.NewScalar(node.Synthetic, "false"))
	gs, err := gitKind{}.Configure(ctx, inner)
	if err != nil {
		return nil, err
	}
	return &gitRepoSource{gitSource: gs.(*gitSource), key: key}, nil
}

// gitRepoSource is a git_repo with a ref: the git source's I/O under
// git_repo's key.
type gitRepoSource struct {
	*gitSource
	key any
}

func (s *gitRepoSource) UniqueKey() any { return s.key }

func (s *gitRepoSource) Stage(ctx context.Context, store *cas.LocalStore) (cas.Digest, error) {
	return source.StageCached(ctx, store, "git_repo", s.key)
}

var (
	_ source.Fetcher       = (*gitRepoSource)(nil)
	_ source.FetchedStager = (*gitRepoSource)(nil)
)

// Track is not git's: git_repo tracks the newest tag matching a glob.
func (s *gitRepoSource) Track(ctx context.Context, fc *source.FetchContext) (*source.RefUpdate, error) {
	return nil, fc.Errorf("tracking git_repo sources is not implemented by bst yet")
}

// gitModuleKind is the community git_module: the submodule at `path` of
// the repository staged before it, its commit tracked from that parent.
type gitModuleKind struct{}

func (gitModuleKind) Name() string { return "git_module" }
func (gitModuleKind) ConfigKeys() []string {
	return []string{"url", "ref", "full-clone", "use-lfs", "version", "version-guess-pattern", "path"}
}

func (gitModuleKind) Configure(ctx source.Context, cfg *node.Node) (source.Source, error) {
	orig, _, err := translated(ctx, cfg, "url", "")
	if err != nil {
		return nil, err
	}
	ref, err := cfg.GetScalar("ref", true)
	if err != nil {
		return nil, err
	}
	if _, err := cfg.GetBool("full-clone", false); err != nil {
		return nil, err
	}
	lfs, err := cfg.GetBool("use-lfs", false)
	if err != nil {
		return nil, err
	}
	p, err := cfg.GetString("path", "")
	if err != nil {
		return nil, err
	}
	p = strings.TrimLeft(p, "/")
	g, err := configureVersionGuess(cfg)
	if err != nil {
		return nil, err
	}
	var refValue any
	if ref != nil {
		refValue = ref.Value()
	}
	key := []any{orig, refValue}
	if p != "" {
		key = append(key, map[string]any{"path": p})
	}
	if lfs {
		key = append(key, "use-lfs")
	}
	if ref == nil {
		return &configOnly{kind: "git_module", key: g.list(key)}, nil
	}
	inner := node.NewMapping(node.Synthetic)
	inner.Set("url", cfg.Get("url"))
	inner.Set("ref", ref)
	inner.Set("checkout-submodules", node.NewScalar(node.Synthetic, "false"))
	gs, err := gitKind{}.Configure(ctx, inner)
	if err != nil {
		return nil, err
	}
	return &gitModuleSource{gitSource: gs.(*gitSource), key: g.list(key), path: p}, nil
}

// gitModuleSource is a git_module with a ref: the commit checked out by
// the git kind's code, at path.
type gitModuleSource struct {
	*gitSource
	key  any
	path string
}

func (s *gitModuleSource) UniqueKey() any { return s.key }

// StageFetched checks the commit out and puts it at path.
func (s *gitModuleSource) StageFetched(ctx context.Context, fc *source.FetchContext) (cas.Digest, error) {
	d, err := s.gitSource.StageFetched(ctx, fc)
	if err != nil || s.path == "" {
		return d, err
	}
	t := fc.Store.NewTree()
	if _, err := t.Import(ctx, d, s.path, nil); err != nil {
		return cas.Digest{}, fc.Errorf("staging the submodule at %s: %v", s.path, err)
	}
	return t.Digest(ctx)
}

func (s *gitModuleSource) Stage(ctx context.Context, store *cas.LocalStore) (cas.Digest, error) {
	return source.StageCached(ctx, store, "git_module", s.key)
}

// Track is not git's: git_module reads the commit from the parent
// repository's submodule entry.
func (s *gitModuleSource) Track(ctx context.Context, fc *source.FetchContext) (*source.RefUpdate, error) {
	return nil, fc.Errorf("tracking git_module sources is not implemented by bst yet")
}

// goModuleKind is the community go_module: one Go module from git,
// vendored under vendor/ of the sources before it.
type goModuleKind struct{}

func (goModuleKind) Name() string         { return "go_module" }
func (goModuleKind) ConfigKeys() []string { return []string{"ref", "url", "module"} }

func (goModuleKind) Configure(ctx source.Context, cfg *node.Node) (source.Source, error) {
	if _, _, err := translated(ctx, cfg, "url", ""); err != nil {
		return nil, err
	}
	module, err := cfg.RequireString("module")
	if err != nil {
		return nil, err
	}
	var ref any
	r, err := cfg.GetMapping("ref", true)
	if err != nil {
		return nil, err
	}
	var gm *goModuleSource
	if r != nil {
		// subdirectory is newer than the plugin version bst was written
		// from (2.1.1): a module in a subdirectory of its repository.
		if err := r.ValidateKeys("go-version", "git-ref", "explicit", "subdirectory"); err != nil {
			return nil, err
		}
		gv, err := r.RequireString("go-version")
		if err != nil {
			return nil, err
		}
		gr, err := r.GetScalar("git-ref", false)
		if err != nil {
			return nil, err
		}
		if err := checkDescribeRef(gr); err != nil {
			return nil, err
		}
		ev, err := r.GetScalar("explicit", false)
		if err != nil {
			return nil, err
		}
		explicit, err := ev.AsBool("explicit")
		if err != nil {
			return nil, err
		}
		m := map[string]any{"go-version": gv, "git-ref": gr.Value(), "explicit": explicit}
		gm = &goModuleSource{module: module, goVersion: gv, explicit: explicit}
		if sub := r.Get("subdirectory"); sub != nil {
			m["subdirectory"] = sub.Value()
			gm.subdir = sub.Value()
		}
		ref = m
		inner := node.NewMapping(node.Synthetic)
		inner.Set("url", cfg.Get("url"))
		inner.Set("ref", gr)
		inner.Set("checkout-submodules", node.NewScalar(node.Synthetic, "false"))
		gs, err := gitKind{}.Configure(ctx, inner)
		if err != nil {
			return nil, err
		}
		gm.git = gs.(*gitSource)
	}
	key := map[string]any{"ref": ref, "module": module, "bugfix": 0}
	if gm == nil {
		return &configOnly{kind: "go_module", key: key}, nil
	}
	gm.key = key
	return gm, nil
}

// cargo2Kind vendors the crates of a Cargo.lock, from a registry or git.
type cargo2Kind struct{}

func (cargo2Kind) Name() string { return "cargo2" }
func (cargo2Kind) ConfigKeys() []string {
	return []string{"url", "ref", "cargo-lock", "vendor-dir", "git-mirrors"}
}

func (cargo2Kind) Configure(ctx source.Context, cfg *node.Node) (source.Source, error) {
	orig, full, err := translated(ctx, cfg, "url", "https://static.crates.io/crates")
	if err != nil {
		return nil, err
	}
	var list []crate
	lock, err := cfg.GetString("cargo-lock", "Cargo.lock")
	if err != nil {
		return nil, err
	}
	vendor, err := cfg.GetString("vendor-dir", ".vendored-crates")
	if err != nil {
		return nil, err
	}
	if _, err := cfg.GetMapping("git-mirrors", true); err != nil {
		return nil, err
	}
	refs, err := cfg.GetSequence("ref", true)
	if err != nil {
		return nil, err
	}
	// The key holds the ref as the plugin rewrites it: every crate with
	// its kind, a registry crate's sha null when missing, a git crate's
	// query only when given.
	crates := []any{}
	resolved := true
	if refs != nil {
		for _, c := range refs.Items() {
			if !c.IsMapping() {
				return nil, node.Errorf(c.Prov(), node.InvalidData, "cargo2 ref entries must be dictionaries")
			}
			name, err := c.RequireString("name")
			if err != nil {
				return nil, err
			}
			version, err := c.RequireString("version")
			if err != nil {
				return nil, err
			}
			kind, err := c.GetString("kind", "registry")
			if err != nil {
				return nil, err
			}
			if kind == "git" {
				repo, err := c.RequireString("repo")
				if err != nil {
					return nil, err
				}
				if _, err := ctx.TranslateURL(repo, c.KeyProv("repo")); err != nil {
					return nil, err
				}
				commit, err := c.RequireString("commit")
				if err != nil {
					return nil, err
				}
				e := map[string]any{"kind": "git", "name": name, "version": version, "repo": repo, "commit": commit}
				q, err := c.GetMapping("query", true)
				if err != nil {
					return nil, err
				}
				if q != nil && q.Len() > 0 {
					query := map[string]any{}
					for i, k := range q.Keys() {
						query[k] = q.Items()[i].Value()
					}
					e["query"] = query
				}
				crates = append(crates, e)
				list = append(list, crate{name: name, version: version, git: true})
				continue
			}
			var sha any
			if s, err := c.GetScalar("sha", true); err != nil {
				return nil, err
			} else if s != nil {
				sha = s.Value()
			} else {
				resolved = false
			}
			crates = append(crates, map[string]any{"kind": "registry", "name": name, "version": version, "sha": sha})
			if sha != nil {
				list = append(list, crate{name: name, version: version, sha: sha.(string)})
			}
		}
	}
	// The registry URL gets a trailing slash unless it is a bare alias,
	// as the plugin does; the key keeps the URL as written.
	regOrig, regFull := orig, full
	if !strings.HasSuffix(regOrig, ":") && !strings.HasSuffix(regOrig, "/") {
		regOrig += "/"
		regFull += "/"
	}
	return &cargoSource{configOnly: configOnly{kind: "cargo2", resolved: resolved, key: []any{orig, lock, vendor, crates, "x"}},
		origURL: regOrig, url: regFull, vendorDir: vendor, crates: list}, nil
}

// dockerKind is buildstream-plugins' docker: an image's layers from an
// OCI/Docker registry, by manifest digest.
type dockerKind struct{}

func (dockerKind) Name() string { return "docker" }
func (dockerKind) ConfigKeys() []string {
	return []string{"architecture", "registry-url", "image", "os", "ref", "track", "url", "version"}
}

func (dockerKind) Configure(ctx source.Context, cfg *node.Node) (source.Source, error) {
	hasURL, hasImage := cfg.Get("url") != nil, cfg.Get("image") != nil
	if hasURL && (hasImage || cfg.Get("registry-url") != nil) {
		return nil, node.Errorf(cfg.Prov(), node.InvalidData, "docker source: may specify either 'url', or 'image' and 'registry-url'")
	}
	if !hasURL && !hasImage {
		return nil, node.Errorf(cfg.Prov(), node.InvalidData, "docker source: must define either 'url' or 'image'")
	}
	var opts [3]string
	for i, k := range []string{"track", "architecture", "os"} {
		v, err := cfg.GetString(k, "")
		if err != nil {
			return nil, err
		}
		opts[i] = v
	}
	src := &dockerSource{tag: opts[0], arch: opts[1], os: opts[2], urlForm: hasURL}
	if src.arch == "" {
		src.arch = defaultDockerArch()
	}
	if src.os == "" {
		src.os = runtime.GOOS
	}
	var digest any
	ref, err := cfg.GetScalar("ref", true)
	if err != nil {
		return nil, err
	}
	if ref != nil {
		// The ref is the digest's hex; the key holds the digest.
		d := ref.Value()
		if !strings.HasPrefix(d, "sha256:") {
			d = "sha256:" + d
		}
		digest = d
		src.digest = d
	}
	var key []any
	if hasURL {
		orig, full, err := translated(ctx, cfg, "url", "")
		if err != nil {
			return nil, err
		}
		key = []any{orig, digest}
		src.written, src.translated = orig, full
	} else {
		image, err := cfg.RequireString("image")
		if err != nil {
			return nil, err
		}
		reg, full, err := translated(ctx, cfg, "registry-url", "https://registry.hub.docker.com")
		if err != nil {
			return nil, err
		}
		key = []any{reg, image, digest}
		src.written, src.translated, src.image = reg, full, image
	}
	if v, err := cfg.GetScalar("version", true); err != nil {
		return nil, err
	} else if v != nil {
		key = append(key, v.Value())
	}
	src.configOnly = configOnly{kind: "docker", resolved: ref != nil, key: key}
	return src, nil
}

// ostreeSourceKind checks out one commit of an OSTree repository.
type ostreeSourceKind struct{}

func (ostreeSourceKind) Name() string         { return "ostree" }
func (ostreeSourceKind) ConfigKeys() []string { return []string{"url", "ref", "track", "gpg-key"} }

func (ostreeSourceKind) Configure(ctx source.Context, cfg *node.Node) (source.Source, error) {
	orig, _, err := translated(ctx, cfg, "url", "")
	if err != nil {
		return nil, err
	}
	ref, err := cfg.GetScalar("ref", true)
	if err != nil {
		return nil, err
	}
	track, err := cfg.GetString("track", "")
	if err != nil {
		return nil, err
	}
	if ref == nil && track == "" {
		return nil, node.Errorf(cfg.Prov(), node.InvalidData, "OSTree sources require a ref and/or track [missing-track-and-ref]")
	}
	if k := cfg.Get("gpg-key"); k != nil {
		if _, err := ctx.ProjectPath(k); err != nil {
			return nil, err
		}
	}
	var refValue any
	if ref != nil {
		refValue = ref.Value()
	}
	return &configOnly{kind: "ostree", resolved: ref != nil, key: []any{orig, refValue}}, nil
}

// ostreeMirrorKind is the freedesktop SDK's local ostree_mirror: every
// ref (matching `match`) of an OSTree repository, mirrored.
type ostreeMirrorKind struct{}

func (ostreeMirrorKind) Name() string         { return "ostree_mirror" }
func (ostreeMirrorKind) ConfigKeys() []string { return []string{"match", "path", "url", "ref", "gpg"} }

func (ostreeMirrorKind) Configure(ctx source.Context, cfg *node.Node) (source.Source, error) {
	var orig string
	if cfg.Get("url") != nil {
		var err error
		if orig, _, err = translated(ctx, cfg, "url", ""); err != nil {
			return nil, err
		}
	} else {
		p, err := cfg.GetScalar("path", false)
		if err != nil {
			return nil, err
		}
		rel, err := ctx.ProjectPath(p)
		if err != nil {
			return nil, err
		}
		orig = "file://" + filepath.Join(ctx.ProjectDir(), rel)
	}
	gpg, err := cfg.GetScalar("gpg", false)
	if err != nil {
		return nil, err
	}
	if _, err := ctx.ProjectPath(gpg); err != nil {
		return nil, err
	}
	if _, err := cfg.GetString("match", ""); err != nil {
		return nil, err
	}
	type entry struct{ ref, checksum string }
	var refs []entry
	seq, err := cfg.GetSequence("ref", true)
	if err != nil {
		return nil, err
	}
	if seq != nil {
		for _, r := range seq.Items() {
			if !r.IsMapping() {
				return nil, node.Errorf(r.Prov(), node.InvalidData, "ostree_mirror ref entries must be dictionaries")
			}
			if err := r.ValidateKeys("ref", "checksum"); err != nil {
				return nil, err
			}
			name, err := r.RequireString("ref")
			if err != nil {
				return nil, err
			}
			sum, err := r.RequireString("checksum")
			if err != nil {
				return nil, err
			}
			refs = append(refs, entry{name, sum})
		}
	}
	sort.SliceStable(refs, func(i, j int) bool { return refs[i].ref < refs[j].ref })
	list := make([]any, len(refs))
	for i, r := range refs {
		list[i] = map[string]any{"ref": r.ref, "checksum": r.checksum}
	}
	// An absent ref is an empty mapping in the plugin, which is a ref all
	// the same: the source is resolved.
	return &configOnly{kind: "ostree_mirror", resolved: true, key: []any{orig, list}}, nil
}

// patchQueueKind applies every file of a directory, in name order, as a
// patch with one leading component stripped, to the sources before it.
type patchQueueKind struct{}

func (patchQueueKind) Name() string         { return "patch_queue" }
func (patchQueueKind) ConfigKeys() []string { return []string{"path"} }

func (patchQueueKind) Configure(ctx source.Context, cfg *node.Node) (source.Source, error) {
	p, err := cfg.GetScalar("path", false)
	if err != nil {
		return nil, err
	}
	rel, err := ctx.ProjectPath(p)
	if err != nil {
		return nil, err
	}
	full := filepath.Join(ctx.ProjectDir(), rel)
	if st, err := os.Stat(full); err == nil && !st.IsDir() {
		return nil, node.Errorf(p.Prov(), node.ProjPathInvalidKind, "specified path '%s' must be a directory", p.Value())
	}
	return &patchQueueSource{Path: rel, full: full, prov: p.Prov()}, nil
}

type patchQueueSource struct {
	Path string
	full string
	prov node.Provenance

	once    sync.Once
	patches []string // absolute, sorted by name
	sums    []string
	err     error
}

var (
	_ source.KeyLoader      = (*patchQueueSource)(nil)
	_ source.PreviousStager = (*patchQueueSource)(nil)
)

func (s *patchQueueSource) Resolved() bool { return true }

// LoadKey hashes every patch of the directory.
func (s *patchQueueSource) LoadKey() error {
	s.once.Do(func() {
		entries, err := os.ReadDir(s.full)
		if err != nil {
			s.err = node.Errorf(s.prov, node.MissingFile, "reading patch queue '%s': %v", s.Path, err)
			return
		}
		names := make([]string, 0, len(entries))
		for _, e := range entries {
			names = append(names, e.Name())
		}
		sort.Strings(names)
		for _, n := range names {
			p := filepath.Join(s.full, n)
			f, err := os.Open(p)
			if err != nil {
				s.err = node.Errorf(s.prov, node.MissingFile, "reading patch '%s': %v", n, err)
				return
			}
			h := sha256.New()
			_, err = io.Copy(h, f)
			f.Close()
			if err != nil {
				s.err = node.Errorf(s.prov, node.MissingFile, "reading patch '%s': %v", n, err)
				return
			}
			s.patches = append(s.patches, p)
			s.sums = append(s.sums, hex.EncodeToString(h.Sum(nil)))
		}
	})
	return s.err
}

// UniqueKey is the list of the patches' sha256 sums, in name order.
func (s *patchQueueSource) UniqueKey() any {
	if s.LoadKey() != nil {
		return nil
	}
	return append([]string{}, s.sums...)
}

// StageOnto applies the patches in turn, with strip level 1 (patch -p1).
func (s *patchQueueSource) StageOnto(ctx context.Context, fc *source.FetchContext, previous cas.Digest) (cas.Digest, error) {
	if err := s.LoadKey(); err != nil {
		return cas.Digest{}, err
	}
	d := previous
	for i, p := range s.patches {
		data, err := os.ReadFile(p)
		if err != nil {
			return cas.Digest{}, fc.Errorf("reading patch '%s': %v", p, err)
		}
		if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != s.sums[i] {
			return cas.Digest{}, fc.Errorf("patch '%s' changed while bst was running", p)
		}
		name := filepath.Join(s.Path, filepath.Base(p))
		fc.Status("Applying patch: %s", name)
		parsed, err := source.ParsePatch(data)
		if err != nil {
			return cas.Digest{}, fc.Errorf("failed to apply patches from %s: %s: %v", s.Path, name, err)
		}
		if d, err = parsed.Apply(ctx, fc.Store, d, 1); err != nil {
			return cas.Digest{}, fc.Errorf("failed to apply patches from %s: %s: %v", s.Path, name, err)
		}
	}
	return d, nil
}

// genCargoLockKind writes a Cargo.lock, kept whole in the ref (base64),
// over the sources staged before it: for projects that ship none.
type genCargoLockKind struct{}

func (genCargoLockKind) Name() string         { return "gen_cargo_lock" }
func (genCargoLockKind) ConfigKeys() []string { return []string{"ref"} }

func (genCargoLockKind) Configure(_ source.Context, cfg *node.Node) (source.Source, error) {
	ref, err := cfg.GetScalar("ref", true)
	if err != nil {
		return nil, err
	}
	s := &genCargoLockSource{}
	if ref != nil {
		if s.lock, err = base64.StdEncoding.DecodeString(ref.Value()); err != nil {
			return nil, node.Errorf(ref.Prov(), node.InvalidData, "gen_cargo_lock ref is not base64: %v", err)
		}
		v := ref.Value()
		s.ref = &v
	}
	return s, nil
}

type genCargoLockSource struct {
	ref  *string
	lock []byte
}

var _ source.PreviousStager = (*genCargoLockSource)(nil)

func (s *genCargoLockSource) Resolved() bool { return s.ref != nil }

// UniqueKey is the ref itself.
func (s *genCargoLockSource) UniqueKey() any {
	if s.ref == nil {
		return nil
	}
	return *s.ref
}

// StageOnto adds Cargo.lock at the top of the previous sources.
func (s *genCargoLockSource) StageOnto(ctx context.Context, fc *source.FetchContext, previous cas.Digest) (cas.Digest, error) {
	file, err := singleFileTree(ctx, fc.Store, "Cargo.lock", s.lock, false)
	if err != nil {
		return cas.Digest{}, err
	}
	t := fc.Store.LoadTree(previous)
	if _, err := t.Import(ctx, file, "/", nil); err != nil {
		return cas.Digest{}, fc.Errorf("writing Cargo.lock: %v", err)
	}
	return t.Digest(ctx)
}
