package plugins

import (
	"path"
	"path/filepath"
	"strings"
	"sync"

	"github.com/bstgo/bst/loader/node"
	"github.com/bstgo/bst/source"
)

// downloadableKeys are the keys shared by sources that download one file.
var downloadableKeys = []string{"url", "ref", "version-guess-pattern", "version"}

// downloadable is the common part of remote and tar: BuildStream's
// DownloadableFileSource.
type downloadable struct {
	// OriginalURL is the URL as written, alias included: it is what enters
	// the key, so redefining an alias or adding a mirror changes no key.
	OriginalURL string
	URL         string // with the alias expanded
	Ref         string
	Version     *string
	Pattern     *string
}

func configureDownloadable(ctx source.Context, cfg *node.Node) (downloadable, error) {
	var d downloadable
	u, err := cfg.GetScalar("url", false)
	if err != nil {
		return d, err
	}
	d.OriginalURL = u.Value()
	if d.URL, err = ctx.TranslateURL(d.OriginalURL, u.Prov()); err != nil {
		return d, err
	}
	if d.Ref, err = cfg.GetString("ref", ""); err != nil {
		return d, err
	}
	for _, opt := range []struct {
		key string
		dst **string
	}{{"version", &d.Version}, {"version-guess-pattern", &d.Pattern}} {
		v, err := cfg.GetScalar(opt.key, true)
		if err != nil {
			return d, err
		}
		if v != nil {
			s := v.Value()
			*opt.dst = &s
		}
	}
	return d, nil
}

func (d downloadable) Resolved() bool { return d.Ref != "" }

// key is DownloadableFileSource.get_unique_key: the URL as written, the ref,
// then the version, or else the version guessing pattern, when given.
func (d downloadable) key() []any {
	k := []any{d.OriginalURL, d.Ref}
	if d.Version != nil {
		k = append(k, *d.Version)
	} else if d.Pattern != nil {
		k = append(k, *d.Pattern)
	}
	return k
}

// remoteKind downloads one file.
type remoteKind struct{}

func (remoteKind) Name() string { return "remote" }
func (remoteKind) ConfigKeys() []string {
	return append(append([]string(nil), downloadableKeys...), "filename", "executable")
}

func (remoteKind) Configure(ctx source.Context, cfg *node.Node) (source.Source, error) {
	d, err := configureDownloadable(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := &remoteSource{downloadable: d}
	if s.Filename, err = cfg.GetString("filename", path.Base(d.URL)); err != nil {
		return nil, err
	}
	if strings.Contains(s.Filename, "/") {
		return nil, node.Errorf(cfg.KeyProv("filename"), node.InvalidData, "filename parameter cannot contain directories")
	}
	if s.Executable, err = cfg.GetBool("executable", false); err != nil {
		return nil, err
	}
	return s, nil
}

type remoteSource struct {
	downloadable
	Filename   string
	Executable bool
}

func (s *remoteSource) UniqueKey() any { return append(s.key(), s.Filename, s.Executable) }

// tarKind downloads and unpacks a tarball.
type tarKind struct{}

func (tarKind) Name() string { return "tar" }
func (tarKind) ConfigKeys() []string {
	return append(append([]string(nil), downloadableKeys...), "base-dir")
}

func (tarKind) Configure(ctx source.Context, cfg *node.Node) (source.Source, error) {
	d, err := configureDownloadable(ctx, cfg)
	if err != nil {
		return nil, err
	}
	s := &tarSource{downloadable: d}
	if s.BaseDir, err = cfg.GetString("base-dir", "*"); err != nil {
		return nil, err
	}
	return s, nil
}

type tarSource struct {
	downloadable
	BaseDir string
}

func (s *tarSource) UniqueKey() any { return append(s.key(), s.BaseDir) }

// localKind takes files from the project. Many local sources often name
// the same few directories, so it hashes each distinct directory once: its
// digests are shared by every source it configures, which are those of one
// registry, that is of one bst invocation.
type localKind struct {
	digests *digestMemo
}

func (localKind) Name() string         { return "local" }
func (localKind) ConfigKeys() []string { return []string{"path"} }

func (k localKind) Configure(ctx source.Context, cfg *node.Node) (source.Source, error) {
	p, err := cfg.GetScalar("path", false)
	if err != nil {
		return nil, err
	}
	rel, err := ctx.ProjectPath(p)
	if err != nil {
		return nil, err
	}
	return &localSource{Path: rel, full: filepath.Join(ctx.ProjectDir(), rel), prov: p.Prov(), digests: k.digests}, nil
}

// localSource's key is the hash of the REAPI Directory digest of its files,
// which takes reading them: LoadKey does that, once per distinct path.
type localSource struct {
	Path    string
	full    string
	prov    node.Provenance
	digests *digestMemo // nil: hash for this source alone

	once sync.Once
	key  string // the hash of the files' directory digest, in hex
	err  error
}

func (s *localSource) Resolved() bool { return true }

// LoadKey computes the digest of the files.
func (s *localSource) LoadKey() error {
	s.once.Do(func() {
		s.key, s.err = s.digests.directoryKey(s.full)
		if s.err != nil {
			s.err = node.Errorf(s.prov, node.MissingFile, "reading local source '%s': %v", s.Path, s.err)
		}
	})
	return s.err
}

// UniqueKey is the hex hash of the directory digest; LoadKey must have
// succeeded first.
func (s *localSource) UniqueKey() any {
	if err := s.LoadKey(); err != nil {
		return nil
	}
	return s.key
}

// LocalPath returns the source's absolute path.
func (s *localSource) LocalPath() string { return s.full }

// digestMemo remembers the key (its directory digest's hash) of each
// absolute path it was asked for, so that sources naming the same files
// hash them once. It is safe for concurrent use; concurrent requests for
// one path wait for the one computation.
type digestMemo struct {
	mu      sync.Mutex
	entries map[string]*digestEntry
}

type digestEntry struct {
	once sync.Once
	key  string
	err  error
}

func newDigestMemo() *digestMemo { return &digestMemo{entries: map[string]*digestEntry{}} }

// directoryKey returns the hash of localDigest(path) in hex, the key of
// the sources naming path, computed once per path; a nil memo computes it
// every time.
func (m *digestMemo) directoryKey(path string) (string, error) {
	if m == nil {
		return localKey(path)
	}
	m.mu.Lock()
	e := m.entries[path]
	if e == nil {
		e = &digestEntry{}
		m.entries[path] = e
	}
	m.mu.Unlock()
	e.once.Do(func() { e.key, e.err = localKey(path) })
	return e.key, e.err
}

// localKey returns the hash of localDigest(path) in hex.
func localKey(path string) (string, error) {
	d, err := localDigest(path)
	return d.Hash(), err
}
