package plugins

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/loader/node"
	"github.com/bstgo/bst/source"
)

// gitKind checks out a commit of a git repository, with its submodules:
// buildstream-plugins' git source. Like it, bst runs the host's git: a
// bare mirror of each repository is kept in <sourcedir>/git, named after
// the URL as written; staging clones the mirror, checks the commit out
// and drops the .git directory, rebuilding a small one when `tags` are
// given (for builds that run git describe).
type gitKind struct{}

func (gitKind) Name() string { return "git" }
func (gitKind) ConfigKeys() []string {
	return []string{"url", "track", "ref", "submodules", "checkout-submodules", "ref-format",
		"track-tags", "tags", "version", "version-guess-pattern"}
}

// The plugin's warning tokens, with its "git:" prefix.
const (
	warnInconsistentSubmodule = "git:inconsistent-submodule"
	warnUnlistedSubmodule     = "git:unlisted-submodule"
	warnInvalidSubmodule      = "git:invalid-submodule"
	warnRefNotInTrack         = "ref-not-in-track"
)

// exactTag matches a git-describe ref that names a tag exactly.
var exactTag = regexp.MustCompile(`^(?s)(.*)-0-g(.*)`)

type gitTag struct {
	Tag, Commit string
	Annotated   bool
}

func (gitKind) Configure(ctx source.Context, cfg *node.Node) (source.Source, error) {
	s := &gitSource{prov: cfg.KeyProv("url")}
	tags, err := loadGitTags(cfg)
	if err != nil {
		return nil, err
	}
	s.tags = tags
	if s.trackTags, err = cfg.GetBool("track-tags", false); err != nil {
		return nil, err
	}
	u, err := cfg.GetScalar("url", false)
	if err != nil {
		return nil, err
	}
	s.OriginalURL = u.Value()
	if s.URL, err = ctx.TranslateURL(s.OriginalURL, u.Prov()); err != nil {
		return nil, err
	}
	if s.Ref, err = cfg.GetString("ref", ""); err != nil {
		return nil, err
	}
	if s.Tracking, err = cfg.GetString("track", ""); err != nil {
		return nil, err
	}
	if rf := cfg.Get("ref-format"); rf != nil {
		if !rf.IsScalar() || rf.Value() != "sha1" && rf.Value() != "git-describe" {
			return nil, node.Errorf(rf.Prov(), node.InvalidData, "ref-format must be one of: sha1, git-describe")
		}
		s.describe = rf.Value() == "git-describe"
	}
	for _, opt := range []struct {
		key string
		dst **string
	}{{"version", &s.version}, {"version-guess-pattern", &s.pattern}} {
		v, err := cfg.GetScalar(opt.key, true)
		if err != nil {
			return nil, err
		}
		if v != nil {
			str := v.Value()
			*opt.dst = &str
		}
	}
	if s.pattern != nil {
		if _, err := regexp.Compile(*s.pattern); err != nil {
			return nil, node.Errorf(cfg.KeyProv("version-guess-pattern"), node.InvalidData, "invalid version-guess-pattern: %v", err)
		}
	}
	if s.Ref == "" && s.Tracking == "" {
		return nil, node.Errorf(cfg.KeyProv("url"), "missing-track-and-ref", "git sources require a ref and/or track")
	}
	if s.checkoutSubmodules, err = cfg.GetBool("checkout-submodules", true); err != nil {
		return nil, err
	}
	mods, err := cfg.GetMapping("submodules", true)
	if err != nil {
		return nil, err
	}
	s.overrides = map[string]*string{}
	s.checkoutOverrides = map[string]bool{}
	if mods != nil {
		for i, p := range mods.Keys() {
			m := mods.Items()[i]
			if !m.IsMapping() {
				return nil, node.Errorf(m.Prov(), node.InvalidData, "value of 'submodules.%s' is not of the expected type 'dict'", p)
			}
			var url *string
			if v, err := m.GetScalar("url", true); err != nil {
				return nil, err
			} else if v != nil {
				str := v.Value()
				url = &str
				if _, err := ctx.TranslateURL(str, v.Prov()); err != nil {
					return nil, err
				}
			}
			s.overrides[p] = url
			s.overrideOrder = append(s.overrideOrder, p)
			if m.Has("checkout") {
				b, err := m.GetBool("checkout", true)
				if err != nil {
					return nil, err
				}
				s.checkoutOverrides[p] = b
			}
		}
	}
	return s, nil
}

func loadGitTags(cfg *node.Node) ([]gitTag, error) {
	seq, err := cfg.GetSequence("tags", true)
	if err != nil || seq == nil {
		return nil, err
	}
	var tags []gitTag
	for _, t := range seq.Items() {
		if !t.IsMapping() {
			return nil, node.Errorf(t.Prov(), node.InvalidData, "each of the git source's tags must be a dictionary")
		}
		if err := t.ValidateKeys("tag", "commit", "annotated"); err != nil {
			return nil, err
		}
		var g gitTag
		if g.Tag, err = t.RequireString("tag"); err != nil {
			return nil, err
		}
		if g.Commit, err = t.RequireString("commit"); err != nil {
			return nil, err
		}
		a, err := t.GetScalar("annotated", false)
		if err != nil {
			return nil, err
		}
		if g.Annotated, err = a.AsBool("annotated"); err != nil {
			return nil, err
		}
		tags = append(tags, g)
	}
	return tags, nil
}

type gitSource struct {
	OriginalURL, URL string
	Ref, Tracking    string
	prov             node.Provenance

	tags               []gitTag
	trackTags          bool
	describe           bool
	version, pattern   *string
	checkoutSubmodules bool
	overrides          map[string]*string // submodule path -> URL override (nil: none)
	overrideOrder      []string
	checkoutOverrides  map[string]bool
}

var (
	_ source.Fetcher       = (*gitSource)(nil)
	_ source.Tracker       = (*gitSource)(nil)
	_ source.FetchedStager = (*gitSource)(nil)
	_ source.Stager        = (*gitSource)(nil)
)

func (s *gitSource) Resolved() bool { return s.Ref != "" }

// stripTag keeps the commit of a git-describe ref.
func stripTag(ref string) string {
	parts := strings.Split(ref, "-g")
	return parts[len(parts)-1]
}

// UniqueKey is GitSource.get_unique_key: the URL as written and the
// commit, then, when they differ from the defaults, the tags, the
// checkout-submodules setting, the submodule URL and checkout overrides,
// and the version or version guessing pattern.
func (s *gitSource) UniqueKey() any {
	key := []any{s.OriginalURL, stripTag(s.Ref)}
	if len(s.tags) > 0 {
		tags := map[string]any{}
		for _, t := range s.tags {
			tags[t.Tag] = []any{t.Commit, t.Annotated}
		}
		key = append(key, map[string]any{"tags": tags})
	}
	if !s.checkoutSubmodules {
		key = append(key, map[string]any{"checkout_submodules": false})
	}
	if len(s.overrides) > 0 {
		m := map[string]any{}
		for p, u := range s.overrides {
			if u == nil {
				m[p] = nil
			} else {
				m[p] = *u
			}
		}
		key = append(key, m)
	}
	if len(s.checkoutOverrides) > 0 {
		m := map[string]any{}
		for p, b := range s.checkoutOverrides {
			m[p] = b
		}
		key = append(key, map[string]any{"submodule_checkout_overrides": m})
	}
	if s.version != nil {
		key = append(key, *s.version)
	} else if s.pattern != nil {
		key = append(key, *s.pattern)
	}
	return key
}

func (s *gitSource) ignoring(p string) bool {
	if b, ok := s.checkoutOverrides[p]; ok {
		return !b
	}
	return !s.checkoutSubmodules
}

// gitRepo is one repository of a git source: the source's own or one of
// its submodules (GitMirror).
type gitRepo struct {
	path string // in the superproject; "" for the source's own
	// url is where to fetch from, as written (it may use an alias);
	// translated is the project's translation of it.
	url, translated string
	mirror          string // the bare mirror's directory
	ref             string
	tags            []gitTag
}

func (s *gitSource) repo(fc *source.FetchContext) *gitRepo {
	return &gitRepo{url: s.OriginalURL, translated: s.URL, mirror: gitMirrorDir(fc, s.OriginalURL), ref: s.Ref, tags: s.tags}
}

func gitMirrorDir(fc *source.FetchContext, url string) string {
	return filepath.Join(fc.MirrorDir("git"), urlDirectoryName(url))
}

// git runs the host's git.
type gitRunner struct {
	bin string
	fc  *source.FetchContext
}

var (
	gitOnce sync.Once
	gitPath string
	gitErr  error
)

func newGit(fc *source.FetchContext) (*gitRunner, error) {
	gitOnce.Do(func() {
		gitPath, gitErr = exec.LookPath("git")
	})
	if gitErr != nil {
		return nil, fc.Errorf("the git source needs git, which is not installed on this machine (%v): install git", gitErr)
	}
	return &gitRunner{bin: gitPath, fc: fc}, nil
}

// run runs git in dir. isolated runs keep the user's and system's git
// configuration out, so a checkout is the same everywhere; fetches keep
// it, for credentials and proxies. Prompts are never shown.
func (g *gitRunner) run(ctx context.Context, dir string, isolated bool, stdin []byte, args ...string) (string, int, error) {
	cmd := exec.CommandContext(ctx, g.bin, args...)
	cmd.Dir = dir
	env := append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
	if isolated {
		env = append(env, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL="+os.DevNull)
	}
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	err := cmd.Run()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return out.String(), ee.ExitCode(), fmt.Errorf("git %s: %s", shownArgs(args), source.RedactAll(strings.TrimSpace(errb.String())))
		}
		return out.String(), -1, fmt.Errorf("git %s: %v", shownArgs(args), err)
	}
	return out.String(), 0, nil
}

func shownArgs(args []string) string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = source.Redact(a)
	}
	return strings.Join(out, " ")
}

// must runs git and fails with what it said.
func (g *gitRunner) must(ctx context.Context, dir string, isolated bool, args ...string) (string, error) {
	out, _, err := g.run(ctx, dir, isolated, nil, args...)
	return out, err
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// ensureMirror creates the bare mirror, atomically: made in a temporary
// directory and renamed into place.
func (g *gitRunner) ensureMirror(ctx context.Context, r *gitRepo) error {
	if exists(r.mirror) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(r.mirror), 0o755); err != nil {
		return err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(r.mirror), ".init-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	if _, err := g.must(ctx, tmp, true, "init", "--bare", "--quiet", tmp); err != nil {
		return g.fc.Errorf("failed to initialise the repository: %v", err)
	}
	if err := os.Rename(tmp, r.mirror); err != nil && !exists(r.mirror) {
		return g.fc.Errorf("failed to create the mirror %s: %v", r.mirror, err)
	}
	return nil
}

// fetchAll fetches every branch and tag of url into the mirror.
func (g *gitRunner) fetchAll(ctx context.Context, r *gitRepo, url string) error {
	if err := g.ensureMirror(ctx, r); err != nil {
		return err
	}
	return g.fc.Retry(ctx, "fetching "+source.Redact(url), func() error {
		_, err := g.must(ctx, r.mirror, false, "fetch", "--prune", "--quiet", url,
			"+refs/heads/*:refs/heads/*", "+refs/tags/*:refs/tags/*")
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return &source.TemporaryError{Err: fmt.Errorf("failed to fetch from remote git repository %s: %v", source.Redact(url), err)}
		}
		return nil
	})
}

// hasRef reports whether the mirror holds the repository's ref.
func (g *gitRunner) hasRef(ctx context.Context, r *gitRepo) bool {
	if r.ref == "" || !exists(r.mirror) {
		return false
	}
	_, code, _ := g.run(ctx, r.mirror, true, nil, "cat-file", "-t", r.ref)
	return code == 0
}

// fetchRepo fetches one repository from the URLs fc gives for it, until
// one has its ref.
func (g *gitRunner) fetchRepo(ctx context.Context, r *gitRepo) error {
	if g.hasRef(ctx, r) {
		return nil
	}
	urls, err := g.fc.URLs(r.url, r.translated)
	if err != nil {
		return err
	}
	var errs []string
	for _, u := range urls {
		g.fc.Status("Fetching from %s", source.Redact(u))
		if err := g.fetchAll(ctx, r, u); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			errs = append(errs, err.Error())
			continue
		}
		if g.hasRef(ctx, r) {
			return nil
		}
		errs = append(errs, fmt.Sprintf("expected ref '%s' was not found in git repository: '%s'", r.ref, source.Redact(u)))
	}
	return g.fc.Errorf("%s", strings.Join(errs, "\n"))
}

// submodules lists the submodules of r at its ref: path and URL from
// .gitmodules, commit from the tree. A submodule in .gitmodules but not
// in the tree is warned about (git:inconsistent-submodule) and skipped.
func (g *gitRunner) submodules(ctx context.Context, r *gitRepo) ([]*gitRepo, error) {
	out, code, err := g.run(ctx, r.mirror, true, nil, "config", "--blob", r.ref+":.gitmodules", "--list")
	if code != 0 {
		// No .gitmodules at that commit.
		if _, c2, _ := g.run(ctx, r.mirror, true, nil, "cat-file", "-e", r.ref+":.gitmodules"); c2 != 0 {
			return nil, nil
		}
		return nil, g.fc.Errorf("failed to read .gitmodules at ref %s: %v", r.ref, err)
	}
	type mod struct{ path, url string }
	var order []string
	mods := map[string]*mod{}
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, "=")
		if !ok || !strings.HasPrefix(k, "submodule.") {
			continue
		}
		rest := k[len("submodule."):]
		dot := strings.LastIndex(rest, ".")
		if dot < 0 {
			continue
		}
		name, field := rest[:dot], rest[dot+1:]
		m := mods[name]
		if m == nil {
			m = &mod{}
			mods[name] = m
			order = append(order, name)
		}
		switch field {
		case "path":
			m.path = v
		case "url":
			m.url = v
		}
	}
	var subs []*gitRepo
	for _, name := range order {
		m := mods[name]
		if m.path == "" || m.url == "" {
			continue
		}
		url := resolveSubmoduleURL(r.url, m.url)
		tree, _, err := g.run(ctx, r.mirror, true, nil, "ls-tree", r.ref, m.path)
		if err != nil {
			return nil, g.fc.Errorf("ls-tree failed for commit %s and submodule %s: %v", r.ref, m.path, err)
		}
		fields := strings.Fields(tree)
		full := path.Join(r.path, m.path)
		if len(fields) < 3 || fields[1] != "commit" {
			if err := g.fc.Warn(warnInconsistentSubmodule, "ignoring inconsistent submodule '%s': it is in .gitmodules but was never added to the repository with `git submodule add`", m.path); err != nil {
				return nil, err
			}
			continue
		}
		if len(fields[2]) != 40 {
			return nil, g.fc.Errorf("error reading the commit of submodule '%s'", m.path)
		}
		subs = append(subs, &gitRepo{path: full, url: url, translated: url, mirror: gitMirrorDir(g.fc, url), ref: fields[2]})
	}
	return subs, nil
}

// resolveSubmoduleURL resolves a relative submodule URL ("../sub.git")
// against its superproject's URL, as git does.
func resolveSubmoduleURL(parent, u string) string {
	if !strings.HasPrefix(u, "./") && !strings.HasPrefix(u, "../") {
		return u
	}
	base, sep := strings.TrimSuffix(parent, "/"), "/"
	for {
		switch {
		case strings.HasPrefix(u, "./"):
			u = u[2:]
		case strings.HasPrefix(u, "../"):
			u = u[3:]
			// Up one component; for "alias:repo" or "host:repo" the
			// colon stays.
			if i := strings.LastIndexAny(base, "/:"); i >= 0 {
				if base[i] == ':' {
					base, sep = base[:i+1], ""
				} else {
					base, sep = base[:i], "/"
				}
			}
		default:
			return base + sep + u
		}
	}
}

// walkSubmodules visits the submodules of the source's repository,
// recursively into those whose ref is in their mirror (so fetching in
// the visit reaches them all). With configure, the source's submodule
// settings apply: ignored submodules are skipped, URL overrides used.
func (s *gitSource) walkSubmodules(ctx context.Context, g *gitRunner, top *gitRepo, configure bool, visit func(*gitRepo) error) error {
	var recurse func(r *gitRepo) error
	recurse = func(r *gitRepo) error {
		subs, err := g.submodules(ctx, r)
		if err != nil {
			return err
		}
		for _, sub := range subs {
			if configure {
				if s.ignoring(sub.path) {
					continue
				}
				if o := s.overrides[sub.path]; o != nil {
					sub.url = *o
					sub.translated = *o
				}
			}
			if err := visit(sub); err != nil {
				return err
			}
			if g.hasRef(ctx, sub) {
				if err := recurse(sub); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return recurse(top)
}

var errMissing = errors.New("missing")

// IsCached reports whether the mirrors hold the ref and every
// checked-out submodule's commit.
func (s *gitSource) IsCached(fc *source.FetchContext) bool {
	g, err := newGit(fc)
	if err != nil {
		return false
	}
	ctx := context.Background()
	top := s.repo(fc)
	if !g.hasRef(ctx, top) {
		return false
	}
	err = s.walkSubmodules(ctx, g, top, true, func(r *gitRepo) error {
		if !g.hasRef(ctx, r) {
			return errMissing
		}
		return nil
	})
	return err == nil
}

// Fetch fetches the repository, then each submodule to check out.
func (s *gitSource) Fetch(ctx context.Context, fc *source.FetchContext) error {
	g, err := newGit(fc)
	if err != nil {
		return err
	}
	top := s.repo(fc)
	unlock := fc.Lock(top.mirror)
	err = g.fetchRepo(ctx, top)
	unlock()
	if err != nil {
		return err
	}
	return s.walkSubmodules(ctx, g, top, true, func(r *gitRepo) error {
		unlock := fc.Lock(r.mirror)
		defer unlock()
		return g.fetchRepo(ctx, r)
	})
}

// Track fetches the tracked branch or tag and returns its commit
// (described with its closest tag for ref-format git-describe), and with
// track-tags the tags in its history.
func (s *gitSource) Track(ctx context.Context, fc *source.FetchContext) (*source.RefUpdate, error) {
	if s.Tracking == "" {
		if s.Ref == "" {
			return nil, fc.Errorf("no track or ref: without a tracking branch the ref cannot be updated; give a ref or a track [track-attempt-no-track]")
		}
		return nil, nil
	}
	g, err := newGit(fc)
	if err != nil {
		return nil, err
	}
	top := s.repo(fc)
	unlock := fc.Lock(top.mirror)
	defer unlock()
	urls, err := fc.URLs(s.OriginalURL, s.URL)
	if err != nil {
		return nil, err
	}
	var errs []string
	for _, u := range urls {
		fc.Status("Tracking %s from %s", s.Tracking, source.Redact(u))
		if err := g.fetchAll(ctx, top, u); err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			errs = append(errs, err.Error())
			continue
		}
		out, err := g.must(ctx, top.mirror, true, "rev-list", "-n", "1", s.Tracking, "--")
		if err != nil {
			errs = append(errs, fmt.Sprintf("unable to find revision %s in %s: %v", s.Tracking, source.Redact(u), err))
			continue
		}
		ref := strings.TrimSpace(out)
		var tags []gitTag
		if s.trackTags {
			if tags, err = g.reachableTags(ctx, top.mirror, ref); err != nil {
				return nil, err
			}
		}
		if s.describe {
			out, err := g.must(ctx, top.mirror, true, "describe", "--tags", "--abbrev=40", "--long", "--always", ref)
			if err != nil {
				return nil, fc.Errorf("unable to describe revision %s: %v", ref, err)
			}
			ref = strings.TrimSpace(out)
		}
		upd := &source.RefUpdate{Set: []source.RefField{{Key: "ref", Value: node.NewScalar(node.Synthetic, ref)}}}
		if len(tags) > 0 {
			list := node.NewSequence(node.Synthetic)
			for _, t := range tags {
				list.Append(node.NewMappingOf(node.Synthetic, []string{"tag", "commit", "annotated"}, []*node.Node{
					node.NewScalar(node.Synthetic, t.Tag), node.NewScalar(node.Synthetic, t.Commit),
					node.NewScalar(node.Synthetic, fmt.Sprint(t.Annotated)),
				}))
			}
			upd.Set = append(upd.Set, source.RefField{Key: "tags", Value: list})
		} else {
			upd.Delete = []string{"tags"}
		}
		return upd, nil
	}
	return nil, fc.Errorf("%s", strings.Join(errs, "\n"))
}

// reachableTags finds the tags closest to rev, as the plugin does: git
// describe with and without --tags and --first-parent.
func (g *gitRunner) reachableTags(ctx context.Context, mirror, rev string) ([]gitTag, error) {
	seen := map[string]gitTag{}
	for _, opts := range [][]string{nil, {"--first-parent"}, {"--tags"}, {"--tags", "--first-parent"}} {
		out, code, _ := g.run(ctx, mirror, true, nil, append([]string{"describe", "--abbrev=0", rev}, opts...)...)
		if code != 0 {
			continue
		}
		tag := strings.TrimSpace(out)
		commit, err := g.must(ctx, mirror, true, "rev-parse", tag+"^{commit}")
		if err != nil {
			return nil, g.fc.Errorf("unable to resolve tag '%s': %v", tag, err)
		}
		_, code, _ = g.run(ctx, mirror, true, nil, "cat-file", "tag", tag)
		seen[tag] = gitTag{Tag: tag, Commit: strings.TrimSpace(commit), Annotated: code == 0}
	}
	var out []gitTag
	for _, t := range seen {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Tag < out[j].Tag })
	return out, nil
}

// StageFetched checks the commit and its submodules out into a temporary
// directory, without their history, and stores it.
func (s *gitSource) StageFetched(ctx context.Context, fc *source.FetchContext) (cas.Digest, error) {
	g, err := newGit(fc)
	if err != nil {
		return cas.Digest{}, err
	}
	top := s.repo(fc)
	if err := s.validate(ctx, g, top); err != nil {
		return cas.Digest{}, err
	}
	fc.Status("Staging %s", source.Redact(s.URL))
	// The checkout is about the size of the packed history, often less.
	return fc.ExtractAndCapture(ctx, "git-", dirSize(filepath.Join(top.mirror, "objects")), func(tmp string) (string, error) {
		if err := g.checkout(ctx, top, tmp); err != nil {
			return "", err
		}
		err := s.walkSubmodules(ctx, g, top, true, func(r *gitRepo) error { return g.checkout(ctx, r, tmp) })
		return tmp, err
	})
}

// dirSize adds up the sizes of the files under dir.
func dirSize(dir string) int64 {
	var n int64
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}

func (s *gitSource) Stage(ctx context.Context, store *cas.LocalStore) (cas.Digest, error) {
	return source.StageCached(ctx, store, "git", s.UniqueKey())
}

// checkout writes the files of r's ref at root/r.path.
func (g *gitRunner) checkout(ctx context.Context, r *gitRepo, root string) error {
	full := filepath.Join(root, filepath.FromSlash(r.path))
	if err := os.MkdirAll(full, 0o755); err != nil {
		return err
	}
	if _, err := g.must(ctx, root, true, "clone", "--quiet", "--no-checkout", "--shared", r.mirror, full); err != nil {
		return g.fc.Errorf("failed to clone the git mirror of %s: %v", source.Redact(r.url), err)
	}
	if _, err := g.must(ctx, full, true, "-c", "advice.detachedHead=false", "checkout", "--quiet", "--force", r.ref); err != nil {
		return g.fc.Errorf("failed to check out git ref %s: %v", r.ref, err)
	}
	if err := os.RemoveAll(filepath.Join(full, ".git")); err != nil {
		return err
	}
	return g.rebuildGit(ctx, r, full)
}

// rebuildGit makes a minimal .git in a checkout when tags are given: the
// commits from each tag to the ref, shallow at the tags, and the tags
// themselves, so `git describe` works in the build.
func (g *gitRunner) rebuildGit(ctx context.Context, r *gitRepo, full string) error {
	if len(r.tags) == 0 {
		return nil
	}
	included, shallow := map[string]bool{}, map[string]bool{}
	for _, t := range r.tags {
		if t.Commit == r.ref {
			shallow[r.ref] = true
			continue
		}
		out, err := g.must(ctx, r.mirror, true, "rev-list", "--ancestry-path", "--boundary", t.Commit+".."+r.ref)
		if err != nil {
			return g.fc.Errorf("failed to get the git history %s..%s: %v", t.Commit, r.ref, err)
		}
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if line == "" {
				continue
			}
			if rev, ok := strings.CutPrefix(line, "-"); ok {
				shallow[rev] = true
			} else {
				included[line] = true
			}
		}
	}
	for rev := range included {
		delete(shallow, rev)
	}
	for rev := range shallow {
		included[rev] = true
	}
	if _, err := g.must(ctx, full, true, "init", "--quiet", "--template="); err != nil {
		return g.fc.Errorf("cannot initialise a git repository in the checkout: %v", err)
	}
	for _, rev := range sortedSet(included) {
		obj, err := g.must(ctx, r.mirror, true, "cat-file", "commit", rev)
		if err != nil {
			return g.fc.Errorf("failed to get commit %s: %v", rev, err)
		}
		if _, _, err := g.run(ctx, full, true, []byte(obj), "hash-object", "-w", "-t", "commit", "--stdin"); err != nil {
			return g.fc.Errorf("failed to add commit object %s: %v", rev, err)
		}
	}
	var sb strings.Builder
	for _, rev := range sortedSet(shallow) {
		sb.WriteString(rev + "\n")
	}
	if err := os.WriteFile(filepath.Join(full, ".git", "shallow"), []byte(sb.String()), 0o644); err != nil {
		return err
	}
	for _, t := range r.tags {
		target := t.Commit
		if t.Annotated {
			data := fmt.Sprintf("object %s\ntype commit\ntag %s\ntagger Unspecified Tagger <unspecified-tagger> 0 +0000\n", t.Commit, t.Tag)
			out, _, err := g.run(ctx, full, true, []byte(data), "hash-object", "-w", "-t", "tag", "--stdin")
			if err != nil {
				return g.fc.Errorf("failed to add tag object %s: %v", t.Tag, err)
			}
			target = strings.TrimSpace(out)
		}
		if _, err := g.must(ctx, full, true, "tag", t.Tag, target); err != nil {
			return g.fc.Errorf("failed to tag %s: %v", t.Tag, err)
		}
	}
	head, err := g.must(ctx, r.mirror, true, "rev-parse", r.ref)
	if err != nil {
		return g.fc.Errorf("failed to parse commit %s: %v", r.ref, err)
	}
	return os.WriteFile(filepath.Join(full, ".git", "HEAD"), []byte(head), 0o644)
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// validate warns, before staging, about submodules the configuration
// does not list or lists wrongly, and about a ref not in the tracked
// branch (GitSource.validate_cache).
func (s *gitSource) validate(ctx context.Context, g *gitRunner, top *gitRepo) error {
	discovered := map[string]bool{}
	var unlisted []string
	err := s.walkSubmodules(ctx, g, top, false, func(r *gitRepo) error {
		discovered[r.path] = true
		if !s.ignoring(r.path) {
			if _, ok := s.overrides[r.path]; !ok {
				unlisted = append(unlisted, fmt.Sprintf("  Submodule URL '%s' at path '%s'", source.Redact(r.url), r.path))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	var invalid []string
	for _, p := range s.overrideOrder {
		if !discovered[p] {
			u := "None"
			if o := s.overrides[p]; o != nil {
				u = *o
			}
			invalid = append(invalid, fmt.Sprintf("  Submodule URL '%s' at path '%s'", source.Redact(u), p))
		}
	}
	if len(invalid) > 0 {
		if err := g.fc.Warn(warnInvalidSubmodule, "invalid submodules specified: these submodules are in the source's configuration but not in the repository:\n%s", strings.Join(invalid, "\n")); err != nil {
			return err
		}
	}
	if len(unlisted) > 0 {
		if err := g.fc.Warn(warnUnlistedSubmodule, "unlisted submodules exist: these submodules are in the repository but not in the source's configuration:\n%s", strings.Join(unlisted, "\n")); err != nil {
			return err
		}
	}
	if s.Tracking != "" && !exactTag.MatchString(s.Ref) {
		out, _, _ := g.run(ctx, top.mirror, true, nil, "branch", "--list", s.Tracking, "--contains", s.Ref)
		if strings.TrimSpace(out) == "" {
			out, _, _ = g.run(ctx, top.mirror, true, nil, "tag", "--list", s.Tracking, "--contains", s.Ref)
		}
		if strings.TrimSpace(out) == "" {
			return g.fc.Warn(warnRefNotInTrack, "expected ref '%s' was not found in given track '%s' for staged repository: '%s'; "+
				"you may wish to track the element to update the ref from '%s' with `bst source track`", s.Ref, s.Tracking, source.Redact(s.URL), s.Tracking)
		}
	}
	return nil
}
