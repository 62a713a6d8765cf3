package plugins

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/source"
)

// gitFixture is a git repository made in the test.
type gitFixture struct {
	t   *testing.T
	dir string
}

func needGit(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
}

// TestMain gives the test's git commits an identity and keeps the user's
// git configuration out.
func TestMain(m *testing.M) {
	for k, v := range map[string]string{
		"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
		"GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com",
		"GIT_CONFIG_GLOBAL": os.DevNull, "GIT_CONFIG_NOSYSTEM": "1",
	} {
		os.Setenv(k, v)
	}
	os.Exit(m.Run())
}

// newGitFixture makes a repository called name in parent ("" for a
// new directory).
func newGitFixture(t *testing.T, parent, name string) *gitFixture {
	if parent == "" {
		parent = t.TempDir()
	}
	g := &gitFixture{t: t, dir: filepath.Join(parent, name)}
	os.MkdirAll(g.dir, 0o755)
	g.git("init", "-q", "-b", "main")
	return g
}

func (g *gitFixture) git(args ...string) string {
	g.t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "protocol.file.allow=always"}, args...)...)
	cmd.Dir = g.dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		g.t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit writes files ("name*" executable) and commits them.
func (g *gitFixture) commit(msg string, files map[string]string) string {
	for p, c := range files {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(p, "*") {
			p, mode = strings.TrimSuffix(p, "*"), 0o755
		}
		full := filepath.Join(g.dir, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		os.WriteFile(full, []byte(c), mode)
	}
	g.git("add", "-A")
	g.git("commit", "-q", "-m", msg)
	return g.git("rev-parse", "HEAD")
}

func gitEnv(t *testing.T, aliases map[string]string, fatal ...string) (*testEnv, testContext) {
	ctx := testContext{dir: t.TempDir(), aliases: aliases}
	return newEnv(t, &source.Project{Name: "test", Aliases: aliases, FatalWarnings: fatal}), ctx
}

// fetchStage fetches a configured git source and returns its staged tree.
func fetchStage(t *testing.T, env *testEnv, s source.Source) cas.Digest {
	t.Helper()
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
	return d
}

func TestGitTrackFetchStage(t *testing.T) {
	t.Parallel()
	needGit(t)
	up := newGitFixture(t, "", "upstream")
	first := up.commit("one", map[string]string{"README": "v1", "bin/tool*": "#!/bin/sh"})
	up.git("tag", "-a", "-m", "release", "v1.0")
	second := up.commit("two", map[string]string{"README": "v2"})
	up.git("checkout", "-q", "-b", "stable", first)
	up.commit("fix", map[string]string{"FIX": "fixed"})
	up.git("checkout", "-q", "main")

	aliases := map[string]string{"repos": "file://" + filepath.Dir(up.dir) + "/"}
	env, ctx := gitEnv(t, aliases)
	s := configure(t, gitKind{}, ctx, "kind: git\nurl: repos:upstream\ntrack: main\n")
	if s.Resolved() {
		t.Fatal("a git source without ref is resolved")
	}
	upd, err := s.(source.Tracker).Track(t.Context(), env.tracking())
	if err != nil {
		t.Fatal(err)
	}
	if upd.String() != second || len(upd.Delete) != 1 || upd.Delete[0] != "tags" {
		t.Fatalf("track main: %+v, want %s", upd, second)
	}
	// git-describe refs, tracking a tag.
	s = configure(t, gitKind{}, ctx, "kind: git\nurl: repos:upstream\ntrack: main\nref-format: git-describe\n")
	upd, err = s.(source.Tracker).Track(t.Context(), env.tracking())
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1.0-1-g" + second; upd.String() != want {
		t.Fatalf("describe: %s, want %s", upd, want)
	}
	// Fetch and stage the described ref: the key has the commit only,
	// the checkout has the files and modes and no .git.
	s = configure(t, gitKind{}, ctx, "kind: git\nurl: repos:upstream\ntrack: main\nref: "+upd.String()+"\n")
	if k := source.CanonicalJSON(s.UniqueKey()); string(k) != `["repos:upstream","`+second+`"]` {
		t.Fatalf("key %s", k)
	}
	fresh, _ := gitEnv(t, aliases)
	d := fetchStage(t, fresh, s)
	if got := staged(t, fresh.Store, d); got != "README=v2 bin/ bin/tool*=#!/bin/sh" {
		t.Errorf("staged %q", got)
	}
	// A ref not in the tracked branch warns (ref-not-in-track), and the
	// warning is fatal when the project says so.
	s = configure(t, gitKind{}, ctx, "kind: git\nurl: repos:upstream\ntrack: stable\nref: "+second+"\n")
	if err := s.(source.Fetcher).Fetch(t.Context(), fresh.fc()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.(source.FetchedStager).StageFetched(t.Context(), fresh.fc()); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(fresh.warnings, "\n"), "[ref-not-in-track]") {
		t.Errorf("no ref-not-in-track warning: %q", fresh.warnings)
	}
	strict, _ := gitEnv(t, aliases, "ref-not-in-track")
	s.(source.Fetcher).Fetch(t.Context(), strict.fc())
	if _, err := s.(source.FetchedStager).StageFetched(t.Context(), strict.fc()); err == nil || !strings.Contains(err.Error(), "ref-not-in-track") {
		t.Errorf("fatal ref-not-in-track: %v", err)
	}
	// A ref the repository does not have.
	s = configure(t, gitKind{}, ctx, "kind: git\nurl: repos:upstream\nref: 0123456789012345678901234567890123456789\n")
	if err := s.(source.Fetcher).Fetch(t.Context(), fresh.fc()); err == nil || !strings.Contains(err.Error(), "was not found") {
		t.Errorf("missing ref: %v", err)
	}
}

func TestGitTagsForDescribe(t *testing.T) {
	t.Parallel()
	needGit(t)
	up := newGitFixture(t, "", "upstream")
	up.commit("one", map[string]string{"a": "1"})
	up.git("tag", "light")
	up.commit("two", map[string]string{"a": "2"})
	up.git("tag", "-a", "-m", "annotated", "v2.0")
	head := up.commit("three", map[string]string{"a": "3"})
	aliases := map[string]string{"repos": "file://" + filepath.Dir(up.dir) + "/"}
	env, ctx := gitEnv(t, aliases)
	s := configure(t, gitKind{}, ctx, "kind: git\nurl: repos:upstream\ntrack: main\ntrack-tags: true\n")
	upd, err := s.(source.Tracker).Track(t.Context(), env.tracking())
	if err != nil {
		t.Fatal(err)
	}
	var tags string
	for _, f := range upd.Set {
		if f.Key == "tags" {
			for _, it := range f.Value.Items() {
				tags += it.Get("tag").Value() + ":" + it.Get("annotated").Value() + " "
			}
		}
	}
	if tags != "v2.0:true " {
		t.Fatalf("tracked tags %q (the closest tags of %s)", tags, head)
	}
	// Staging with the tags makes a .git in which git describe works.
	v2 := up.git("rev-parse", "v2.0^{commit}")
	s = configure(t, gitKind{}, ctx, "kind: git\nurl: repos:upstream\nref: "+head+"\ntags:\n- tag: v2.0\n  commit: "+v2+"\n  annotated: true\n")
	env, _ = gitEnv(t, aliases)
	d := fetchStage(t, env, s)
	out := filepath.Join(t.TempDir(), "co")
	if err := env.Store.StageTree(t.Context(), d, out, cas.StageOptions{Copy: true}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("git", "describe", "--tags")
	cmd.Dir = out
	desc, err := cmd.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(desc), "v2.0-1-g") {
		t.Fatalf("git describe in the checkout: %s %v", desc, err)
	}
}

func TestGitSubmodules(t *testing.T) {
	needGit(t)
	parent := t.TempDir()
	sub := newGitFixture(t, parent, "sub")
	sub.commit("sub", map[string]string{"s.txt": "from sub"})
	other := newGitFixture(t, parent, "other")
	other.commit("other", map[string]string{"o.txt": "from other"})
	mirror := exec.Command("git", "clone", "-q", "--bare", sub.dir, filepath.Join(parent, "sub-mirror"))
	if out, err := mirror.CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	up := newGitFixture(t, parent, "upstream")
	up.commit("base", map[string]string{"main.txt": "main"})
	up.git("submodule", "add", "-q", "../sub", "libs/sub")
	up.git("submodule", "add", "-q", "../other", "libs/other")
	head := up.commit("with submodules", nil)
	aliases := map[string]string{"repos": "file://" + filepath.Dir(up.dir) + "/"}

	for _, c := range []struct {
		name, extra string
		want        string
		warn        string
	}{
		{"all", "submodules:\n  libs/sub: {}\n  libs/other: {}\n",
			".gitmodules=[submodule \"libs/sub\"]\n\tpath = libs/sub\n\turl = ../sub\n[submodule \"libs/other\"]\n\tpath = libs/other\n\turl = ../other libs/ libs/other/ libs/other/o.txt=from other libs/sub/ libs/sub/s.txt=from sub main.txt=main", ""},
		{"unlisted", "",
			"libs/other/o.txt=from other", "[git:unlisted-submodule]"},
		{"none", "checkout-submodules: false\n", "libs/other/ libs/sub/ main.txt=main", ""},
		{"one override", "checkout-submodules: false\nsubmodules:\n  libs/sub:\n    checkout: true\n", "libs/other/ libs/sub/ libs/sub/s.txt=from sub main.txt=main", ""},
		{"url override", "submodules:\n  libs/sub:\n    url: repos:sub-mirror\n  libs/other:\n    checkout: false\n", "libs/other/ libs/sub/ libs/sub/s.txt=from sub main.txt=main", ""},
		{"invalid", "submodules:\n  libs/sub: {}\n  libs/other: {}\n  libs/ghost: {}\n", "main.txt=main", "[git:invalid-submodule]"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			env, ctx := gitEnv(t, aliases)
			s := configure(t, gitKind{}, ctx, "kind: git\nurl: repos:upstream\nref: "+head+"\n"+c.extra)
			got := staged(t, env.Store, fetchStage(t, env, s))
			if !strings.Contains(got, c.want) {
				t.Errorf("staged %q, want it to hold %q", got, c.want)
			}
			warnings := strings.Join(env.warnings, "\n")
			if c.warn != "" && !strings.Contains(warnings, c.warn) || c.warn == "" && warnings != "" {
				t.Errorf("warnings %q, want %q", warnings, c.warn)
			}
			if strings.Contains(got, ".git/") || strings.Contains(got, ".git=") {
				t.Errorf("history staged: %q", got)
			}
		})
	}
	// With the unlisted-submodule warning fatal, staging fails.
	t.Run("fatal", func(t *testing.T) {
		t.Parallel()
		env, ctx := gitEnv(t, aliases, "git:unlisted-submodule")
		s := configure(t, gitKind{}, ctx, "kind: git\nurl: repos:upstream\nref: "+head+"\n")
		s.(source.Fetcher).Fetch(t.Context(), env.fc())
		if _, err := s.(source.FetchedStager).StageFetched(t.Context(), env.fc()); err == nil || !strings.Contains(err.Error(), "git:unlisted-submodule") {
			t.Errorf("fatal warning: %v", err)
		}
	})
}

// The error for a repository that cannot be fetched names the source and
// never shows the URL's credentials.
func TestGitFetchErrorRedacted(t *testing.T) {
	needGit(t)
	env, ctx := gitEnv(t, nil)
	s := configure(t, gitKind{}, ctx, "kind: git\nurl: https://bob:hunter2@127.0.0.1:1/repo.git\nref: 0123456789012345678901234567890123456789\n")
	err := s.(source.Fetcher).Fetch(t.Context(), env.fc())
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "elements/test.bst") {
		t.Fatalf("error %v", err)
	}
}
