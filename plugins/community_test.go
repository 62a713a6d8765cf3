package plugins

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bstgo/bst/element"
	"github.com/bstgo/bst/loader/node"
	"github.com/bstgo/bst/source"
)

// Unique keys of the community source kinds, in the shapes of their
// plugins' get_unique_key.
func TestCommunitySourceKeys(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "patches"), 0o755)
	os.WriteFile(filepath.Join(dir, "patches", "b.patch"), []byte("b\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "patches", "a.patch"), []byte("a\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "key.gpg"), []byte("k"), 0o644)
	ctx := testContext{dir: dir, aliases: map[string]string{"up": "https://up.example/", "pypi": "https://files.example/"}}
	sha := strings.Repeat("ab", 32)
	for _, c := range []struct {
		kind     source.Kind
		yaml     string
		want     string
		resolved bool
	}{
		{gitRepoKind{}, "url: up:r.git\nref: v1.0-0-g0123456789abcdef0123456789abcdef01234567\ntrack: 'v*'\nexclude: [v1.1]\n",
			`{"bugfix":1,"ref":"v1.0-0-g0123456789abcdef0123456789abcdef01234567"}`, true},
		{gitRepoKind{}, "url: up:r.git\nref: 0123456789abcdef0123456789abcdef01234567\nversion: '2'\n",
			`{"bugfix":1,"ref":"0123456789abcdef0123456789abcdef01234567","version":"2"}`, true},
		{gitRepoKind{}, "url: up:r.git\ntrack: main\n", `{"bugfix":1,"ref":null}`, false},
		{gitModuleKind{}, "url: up:sub.git\npath: /third_party/x\nref: 0123456789abcdef0123456789abcdef01234567\n",
			`["up:sub.git","0123456789abcdef0123456789abcdef01234567",{"path":"third_party/x"}]`, true},
		{goModuleKind{}, "url: up:x.git\nmodule: golang.org/x/sys\nref:\n  go-version: v0.1.0\n  git-ref: v0.1.0-0-g0123456789abcdef0123456789abcdef01234567\n  explicit: true\n",
			`{"bugfix":0,"module":"golang.org/x/sys","ref":{"explicit":true,"git-ref":"v0.1.0-0-g0123456789abcdef0123456789abcdef01234567","go-version":"v0.1.0"}}`, true},
		{cargo2Kind{}, "ref:\n- name: a\n  version: '1.0'\n  sha: " + sha + "\n- kind: git\n  name: b\n  version: 0.2.0\n  repo: up:b.git\n  commit: c0ffee\n  query:\n    rev: c0ffee\n",
			`["https://static.crates.io/crates","Cargo.lock",".vendored-crates",[{"kind":"registry","name":"a","sha":"` + sha + `","version":"1.0"},{"commit":"c0ffee","kind":"git","name":"b","query":{"rev":"c0ffee"},"repo":"up:b.git","version":"0.2.0"}],"x"]`, true},
		{cargo2Kind{}, "ref:\n- name: a\n  version: '1'\n", `["https://static.crates.io/crates","Cargo.lock",".vendored-crates",[{"kind":"registry","name":"a","sha":null,"version":"1"}],"x"]`, false},
		{pypiKind{}, "name: ponies\nurl: 'pypi:'\nref:\n  suffix: 44/7b/ponies-2.0.tar.gz\n  sha256sum: " + sha + "\n",
			`["44/7b/ponies-2.0.tar.gz","` + sha + `"]`, true},
		{pypiKind{}, "name: ponies\n", `["",null]`, false},
		{cpanKind{}, "name: Pod::Parser\nsuffix: authors/id/P/Pod-1.0.tar.gz\nsha256sum: " + sha + "\nversion-guess-pattern: '(\\d+)'\n",
			`["authors/id/P/Pod-1.0.tar.gz","` + sha + `","(\\d+)"]`, true},
		{dockerKind{}, "image: library/alpine\ntrack: latest\nref: " + sha + "\n",
			`["https://registry.hub.docker.com","library/alpine","sha256:` + sha + `"]`, true},
		{dockerKind{}, "url: up:library/alpine\nref: " + sha + "\nversion: '3'\n", `["up:library/alpine","sha256:` + sha + `","3"]`, true},
		{ostreeSourceKind{}, "url: up:repo\nref: abc\ngpg-key: key.gpg\n", `["up:repo","abc"]`, true},
		{ostreeMirrorKind{}, "url: up:repo\ngpg: key.gpg\nref:\n- ref: z\n  checksum: '2'\n- ref: a\n  checksum: '1'\n",
			`["up:repo",[{"checksum":"1","ref":"a"},{"checksum":"2","ref":"z"}]]`, true},
		{genCargoLockKind{}, "ref: eA==\n", `"eA=="`, true},
		{genCargoLockKind{}, "{}\n", `null`, false},
		{patchQueueKind{}, "path: patches\n", `["` + shaOf("a\n") + `","` + shaOf("b\n") + `"]`, true},
	} {
		s := configure(t, c.kind, ctx, c.yaml)
		if kl, ok := s.(source.KeyLoader); ok {
			if err := kl.LoadKey(); err != nil {
				t.Fatal(err)
			}
		}
		if got := string(source.CanonicalJSON(s.UniqueKey())); got != c.want {
			t.Errorf("%s %s:\n got  %s\n want %s", c.kind.Name(), c.yaml, got, c.want)
		}
		if s.Resolved() != c.resolved {
			t.Errorf("%s %s: resolved %v", c.kind.Name(), c.yaml, s.Resolved())
		}
	}
	for _, c := range []struct {
		kind source.Kind
		yaml string
		msg  string
	}{
		{gitRepoKind{}, "url: up:r.git\nref: not-a-ref\n", "not in the expected format"},
		{gitRepoKind{}, "url: nope:r.git\nref: 0123456\n", "undefined alias"},
		{dockerKind{}, "url: up:a\nimage: a\n", "either 'url', or 'image'"},
		{dockerKind{}, "track: x\n", "must define either"},
		{ostreeSourceKind{}, "url: up:repo\n", "require a ref and/or track"},
		{ostreeMirrorKind{}, "url: up:repo\n", "gpg"},
		{goModuleKind{}, "url: up:x.git\n", "module"},
		{genCargoLockKind{}, "ref: '***'\n", "not base64"},
	} {
		if _, err := configureErr(c.kind, ctx, c.yaml); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s %q: error %v, want one saying %q", c.kind.Name(), c.yaml, err, c.msg)
		}
	}
}

func shaOf(s string) string { return sha([]byte(s)) }

// pypi and cpan download the archive from index root + suffix and stage
// it without its top directory.
func TestIndexSourcesFetchAndStage(t *testing.T) {
	tarball := tarGz(t, map[string]string{"pkg-1.0/": "", "pkg-1.0/README": "read me"})
	zipball := zipOf(map[string]string{"z-2/a.txt": "A"})
	mux := http.NewServeMux()
	mux.HandleFunc("/packages/ab/pkg-1.0.tar.gz", func(w http.ResponseWriter, r *http.Request) { w.Write(tarball) })
	mux.HandleFunc("/authors/id/Z/z-2.zip", func(w http.ResponseWriter, r *http.Request) { w.Write(zipball) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := testContext{dir: t.TempDir(), aliases: map[string]string{"pypi": srv.URL + "/packages/", "cpan": srv.URL + "/"}}
	proj := &source.Project{Name: "test", Aliases: ctx.aliases}
	for _, c := range []struct {
		kind source.Kind
		yaml string
		want string
	}{
		{pypiKind{}, "name: pkg\nurl: 'pypi:'\nref:\n  suffix: ab/pkg-1.0.tar.gz\n  sha256sum: " + sha(tarball) + "\n", "README=read me"},
		{cpanKind{}, "name: Z\nindex: 'cpan:'\nsuffix: authors/id/Z/z-2.zip\nsha256sum: " + sha(zipball) + "\n", "a.txt=A"},
	} {
		t.Run(c.kind.Name(), func(t *testing.T) {
			env := newEnv(t, proj)
			s := configure(t, c.kind, ctx, c.yaml)
			f := s.(source.Fetcher)
			if f.IsCached(env.fc()) {
				t.Fatal("cached before fetching")
			}
			if err := f.Fetch(t.Context(), env.fc()); err != nil {
				t.Fatal(err)
			}
			d, err := s.(source.FetchedStager).StageFetched(t.Context(), env.fc())
			if err != nil {
				t.Fatal(err)
			}
			if got := staged(t, env.Store, d); got != c.want {
				t.Errorf("staged %q, want %q", got, c.want)
			}
		})
	}
}

// elementKey configures an element kind from YAML (its defaults' config
// composited under it) and returns its unique key as JSON.
func elementKey(t *testing.T, k element.Kind, yaml string, vars map[string]string) (element.Config, string, error) {
	t.Helper()
	defaults, err := node.Parse([]byte(k.Defaults()), &node.File{Name: k.Name() + ".yaml"})
	if err != nil {
		t.Fatal(err)
	}
	cfg := defaults.Get("config")
	if cfg == nil {
		cfg = node.NewMapping(node.Synthetic)
	}
	cfg = cfg.Clone()
	n, err := node.Parse([]byte(yaml), &node.File{Name: "elements/test.bst"})
	if err != nil {
		t.Fatal(err)
	}
	if err := node.Composite(n, cfg); err != nil {
		t.Fatal(err)
	}
	c, err := k.Configure(cfg, mapVars(vars))
	if err != nil {
		return nil, "", err
	}
	return c, string(element.CanonicalJSON(c.UniqueKey())), nil
}

type mapVars map[string]string

func (m mapVars) Get(k string) (string, bool) { v, ok := m[k]; return v, ok }
func (m mapVars) Names() []string             { return nil }

func TestCommunityElementKeys(t *testing.T) {
	reg := Builtin()
	kind := func(name string) element.Kind {
		k, ok := reg.Element(name)
		if !ok {
			t.Fatalf("no element kind %s", name)
		}
		return k
	}
	for _, c := range []struct {
		kind, yaml, want string
	}{
		{"check_forbidden", "forbidden: [b.bst, a.bst, b.bst]\n", `{"forbidden":["a.bst","b.bst"]}`},
		{"collect_integration", "script-path: /usr/bin/post.sh\nignore: [z.bst, a.bst]\n", `{"ignore":["a.bst","z.bst"],"script-path":"/usr/bin/post.sh"}`},
		{"collect_initial_scripts", "path: /etc/initial\n", `{"path":"/etc/initial"}`},
		{"collect_manifest", "path: /usr/manifest.json\n", `{"path":"/usr/manifest.json","source_provenance":true}`},
		{"collect_manifest", "use-source-provenance: false\n", `{"path":null}`},
		{"collect_manifest", "path: /sbom.json\noutput-type: spdx\nspdx-info:\n  name: sdk\n  created: 1320937200\n",
			`{"output_type":"spdx","path":"/sbom.json","source_provenance":true,"spdx_info":[null,null,1320937200,null,"sdk"]}`},
		{"flatpak_image", "directory: /usr\nexclude: [b, a]\nmetadata:\n  Runtime:\n    name: org.example.Sdk\n",
			`{"directory":"/usr","exclude":["a","b"],"include":[],"metadata":{"Runtime":{"name":"org.example.Sdk"}},"version":4}`},
		{"ostree", "ostree-branch: os/x86_64\n", `{"branch":"os/x86_64","initial-commands":[]}`},
	} {
		_, got, err := elementKey(t, kind(c.kind), c.yaml, nil)
		if err != nil {
			t.Fatalf("%s: %v", c.kind, err)
		}
		if got != c.want {
			t.Errorf("%s %s:\n got  %s\n want %s", c.kind, c.yaml, got, c.want)
		}
	}
	for _, c := range []struct{ kind, yaml, msg string }{
		{"check_forbidden", "{}\n", "forbidden"},
		{"flatpak_image", "directory: /usr\nmetadata:\n  Other: {}\n", "Application or Runtime"},
		{"collect_manifest", "output-type: xml\n", "manifest, spdx"},
		{"collect_integration", "script-path: /a\nextra: 1\n", "extra"},
	} {
		if _, _, err := elementKey(t, kind(c.kind), c.yaml, nil); err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s %q: error %v, want one saying %q", c.kind, c.yaml, err, c.msg)
		}
	}

	// flatpak_repo is a script element: its key has the commands it adds
	// for each image, by group.
	c, _, err := elementKey(t, kind("flatpak_repo"), "arch: x86_64\nbranch: '25.08'\ncopy-refs:\n- src: a\n  dest: b\n", nil)
	if err != nil {
		t.Fatal(err)
	}
	img := &element.Element{Name: "flatpak/sdk-image.bst"}
	cfg, _ := node.Parse([]byte("flatpak-image: true\n"), &node.File{Name: "elements/repo.bst"})
	if err := c.(element.DependencyConfigurer).ConfigureDependencies([]element.DependencyConfig{
		{Element: &element.Element{Name: "tools.bst"}, Path: "tools.bst"},
		{Element: img, Path: "flatpak/sdk-image.bst", Config: cfg},
	}); err != nil {
		t.Fatal(err)
	}
	want := `{"commands":{"copy ref a -> b":["flatpak build-commit-from --src-ref=a /buildstream/repo b"],` +
		`"export flatpak/sdk-image.bst":["flatpak build-export --files=files --arch=x86_64 /buildstream/repo /buildstream/input/flatpak-sdk-image 25.08"],` +
		`"init repository":["ostree init --repo=/buildstream/repo --mode=archive"]},` +
		`"cwd":"/","install-root":"/buildstream/repo","layout":{"/":["tools.bst"],"/buildstream/input/flatpak-sdk-image":["flatpak/sdk-image.bst"]},"root-read-only":true}`
	if got := string(element.CanonicalJSON(c.UniqueKey())); got != want {
		t.Errorf("flatpak_repo:\n got  %s\n want %s", got, want)
	}
	c, _, _ = elementKey(t, kind("flatpak_repo"), "arch: x\nbranch: y\n", nil)
	if err := c.(element.DependencyConfigurer).ConfigureDependencies([]element.DependencyConfig{
		{Element: &element.Element{Name: "tools.bst"}, Path: "tools.bst"}}); err == nil {
		t.Error("a flatpak_repo without images configured")
	}
	if v := kind("collect_manifest").(element.ArtifactVersioner).ArtifactVersion(); v != 2 {
		t.Errorf("collect_manifest artifact version %d", v)
	}
}

// git_repo fetches and stages with the git kind's machinery, under its
// own key, and leaves submodules alone.
func TestGitRepoFetchStage(t *testing.T) {
	needGit(t)
	up := newGitFixture(t, "", "upstream")
	commit := up.commit("one", map[string]string{"README": "v1"})
	up.git("tag", "-a", "-m", "release", "v1.0")
	aliases := map[string]string{"repos": "file://" + filepath.Dir(up.dir) + "/"}
	env, ctx := gitEnv(t, aliases)
	s := configure(t, gitRepoKind{}, ctx, "url: repos:upstream\ntrack: 'v*'\nref: v1.0-0-g"+commit+"\n")
	if got, want := string(source.CanonicalJSON(s.UniqueKey())), `{"bugfix":1,"ref":"v1.0-0-g`+commit+`"}`; got != want {
		t.Fatalf("key %s, want %s", got, want)
	}
	d := fetchStage(t, env, s)
	if got := staged(t, env.Store, d); got != "README=v1" {
		t.Errorf("staged %q", got)
	}
	if _, err := s.(source.Tracker).Track(t.Context(), env.tracking()); err == nil {
		t.Error("git_repo tracking claimed to work")
	}
}

// git_module checks its commit out at its path.
func TestGitModuleFetchStage(t *testing.T) {
	needGit(t)
	up := newGitFixture(t, "", "sub")
	commit := up.commit("one", map[string]string{"lib.c": "int x;"})
	aliases := map[string]string{"repos": "file://" + filepath.Dir(up.dir) + "/"}
	env, ctx := gitEnv(t, aliases)
	s := configure(t, gitModuleKind{}, ctx, "url: repos:sub\npath: third_party/sub\nref: "+commit+"\n")
	d := fetchStage(t, env, s)
	if got := staged(t, env.Store, d); got != "third_party/ third_party/sub/ third_party/sub/lib.c=int x;" {
		t.Errorf("staged %q", got)
	}
}

// cargo2 downloads registry crates, checks their sha and vendors them.
func TestCargo2FetchStage(t *testing.T) {
	crateData := tarGz(t, map[string]string{"pkg-1.0/": "", "pkg-1.0/README": "crate"})
	mux := http.NewServeMux()
	mux.HandleFunc("/crates/pkg/pkg-1.0.crate", func(w http.ResponseWriter, r *http.Request) { w.Write(crateData) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := testContext{dir: t.TempDir(), aliases: map[string]string{"crates": srv.URL + "/crates/"}}
	env := newEnv(t, &source.Project{Name: "test", Aliases: ctx.aliases})
	s := configure(t, cargo2Kind{}, ctx, "url: 'crates:'\nvendor-dir: vendor\nref:\n- name: pkg\n  version: '1.0'\n  sha: "+sha(crateData)+"\n")
	f := s.(source.Fetcher)
	if f.IsCached(env.fc()) {
		t.Fatal("cached before fetching")
	}
	if err := f.Fetch(t.Context(), env.fc()); err != nil {
		t.Fatal(err)
	}
	if !f.IsCached(env.fc()) {
		t.Fatal("not cached after fetching")
	}
	d, err := s.(source.FetchedStager).StageFetched(t.Context(), env.fc())
	if err != nil {
		t.Fatal(err)
	}
	want := `.cargo/ .cargo/config.toml=[source.crates-io]
registry = "` + srv.URL + `/crates/"
replace-with = "vendored-sources"

[source.vendored-sources]
directory = "vendor" vendor/ vendor/pkg-1.0/ vendor/pkg-1.0/.cargo-checksum.json={"files":{},"package":"` + sha(crateData) + `"} vendor/pkg-1.0/README=crate`
	if got := staged(t, env.Store, d); got != want {
		t.Errorf("staged:\n%s\nwant:\n%s", got, want)
	}
	// A wrong sha is refused.
	bad := configure(t, cargo2Kind{}, ctx, "url: 'crates:'\nref:\n- name: pkg\n  version: '1.0'\n  sha: "+strings.Repeat("0", 64)+"\n")
	if err := bad.(source.Fetcher).Fetch(t.Context(), newEnv(t, &source.Project{Name: "test", Aliases: ctx.aliases}).fc()); err == nil {
		t.Error("a crate with the wrong sha was fetched")
	}
	// Crates from git are not fetched yet, and that is said.
	g := configure(t, cargo2Kind{}, ctx, "ref:\n- kind: git\n  name: b\n  version: '1'\n  repo: crates:b.git\n  commit: c0ffee\n")
	if err := g.(source.Fetcher).Fetch(t.Context(), env.fc()); err == nil || !strings.Contains(err.Error(), "from git") {
		t.Errorf("git crate: %v", err)
	}
}

// go_module vendors its module over the sources before it.
func TestGoModuleStage(t *testing.T) {
	needGit(t)
	up := newGitFixture(t, "", "bar")
	commit := up.commit("one", map[string]string{"bar.go": "package bar"})
	up.git("tag", "-a", "-m", "r", "v2.1.0")
	aliases := map[string]string{"repos": "file://" + filepath.Dir(up.dir) + "/"}
	env, ctx := gitEnv(t, aliases)
	s := configure(t, goModuleKind{}, ctx, "url: repos:bar\nmodule: example.com/foo/bar/v2\nref:\n  go-version: v2.1.0\n  git-ref: v2.1.0-0-g"+commit+"\n  explicit: true\n")
	if err := s.(source.Fetcher).Fetch(t.Context(), env.fc()); err != nil {
		t.Fatal(err)
	}
	prev, err := singleFileTree(t.Context(), env.Store, "vendor/modules.txt", []byte("# other v1\nother\n"), false)
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.(source.PreviousStager).StageOnto(t.Context(), env.fc(), prev)
	if err != nil {
		t.Fatal(err)
	}
	want := "vendor/ vendor/example.com/ vendor/example.com/foo/ vendor/example.com/foo/bar/ vendor/example.com/foo/bar/bar.go=package bar " +
		"vendor/example.com/foo/bar/v2->. vendor/modules.txt=# other v1\nother\n# example.com/foo/bar/v2 v2.1.0\n## explicit\nexample.com/foo/bar/v2"
	if got := staged(t, env.Store, d); got != want {
		t.Errorf("staged:\n%q\nwant:\n%q", got, want)
	}
}
