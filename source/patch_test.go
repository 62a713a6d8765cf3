package source

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bstgo/bst/cas"
)

// capture stores files (path -> content; a "*" suffix on the path makes
// it executable) and returns their tree.
func capture(t testing.TB, store *cas.LocalStore, files map[string]string) cas.Digest {
	t.Helper()
	dir := t.TempDir()
	for p, c := range files {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(p, "*") {
			p, mode = strings.TrimSuffix(p, "*"), 0o755
		}
		full := filepath.Join(dir, p)
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(c), mode); err != nil {
			t.Fatal(err)
		}
	}
	d, err := store.CaptureTree(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func stageString(t *testing.T, store *cas.LocalStore, d cas.Digest) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "out")
	if err := store.StageTree(context.Background(), d, dir, cas.StageOptions{Copy: true}); err != nil {
		t.Fatal(err)
	}
	return tree(t, dir)
}

func applyPatch(t *testing.T, store *cas.LocalStore, files map[string]string, patch string, strip int) (string, error) {
	t.Helper()
	p, err := ParsePatch([]byte(patch))
	if err != nil {
		return "", err
	}
	d, err := p.Apply(context.Background(), store, capture(t, store, files), strip)
	if err != nil {
		return "", err
	}
	return stageString(t, store, d), nil
}

func testStore(t testing.TB) *cas.LocalStore {
	s, err := cas.OpenLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPatchApply(t *testing.T) {
	store := testStore(t)
	base := map[string]string{"usr/bin/hello*": "#!/bin/bash\n\necho \"Hello !\"\n", "keep": "k\n"}
	for _, c := range []struct {
		name  string
		patch string
		strip int
		want  string
	}{
		{"modify, exec kept", "--- a/usr/bin/hello\n+++ b/usr/bin/hello\n@@ -1,3 +1,3 @@\n #!/bin/bash\n \n-echo \"Hello !\"\n+echo \"Bye !\"\n", 1,
			"keep=k\n usr/ usr/bin/ usr/bin/hello*=#!/bin/bash\n\necho \"Bye !\"\n"},
		{"strip level 3", "--- a/usr/bin/hello\n+++ b/usr/bin/hello\n@@ -3 +3 @@\n-echo \"Hello !\"\n+echo hi\n", 0,
			""},
		{"create with git mode", "diff --git a/new.sh b/new.sh\nnew file mode 100755\n--- /dev/null\n+++ b/new.sh\n@@ -0,0 +1,2 @@\n+#!/bin/sh\n+true\n", 1,
			"keep=k\n new.sh*=#!/bin/sh\ntrue\n usr/ usr/bin/ usr/bin/hello*=#!/bin/bash\n\necho \"Hello !\"\n"},
		{"delete", "--- a/keep\n+++ /dev/null\n@@ -1 +0,0 @@\n-k\n", 1,
			"usr/ usr/bin/ usr/bin/hello*=#!/bin/bash\n\necho \"Hello !\"\n"},
		{"rename", "diff --git a/keep b/kept\nsimilarity index 100%\nrename from keep\nrename to kept\n", 1,
			"kept=k\n usr/ usr/bin/ usr/bin/hello*=#!/bin/bash\n\necho \"Hello !\"\n"},
		{"no newline at end", "--- a/keep\n+++ b/keep\n@@ -1 +1 @@\n-k\n+k2\n\\ No newline at end of file\n", 1,
			"keep=k2 usr/ usr/bin/ usr/bin/hello*=#!/bin/bash\n\necho \"Hello !\"\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "strip level 3" {
				// -p3 of a/usr/bin/hello is "hello", which is not there.
				if _, err := applyPatch(t, store, base, c.patch, 3); err == nil || !strings.Contains(err.Error(), "no such file") {
					t.Fatalf("strip 3: %v", err)
				}
				return
			}
			got, err := applyPatch(t, store, base, c.patch, c.strip)
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("got  %q\nwant %q", got, c.want)
			}
		})
	}
}

func TestPatchOffsetFuzzAndFailures(t *testing.T) {
	store := testStore(t)
	var lines []string
	for i := 1; i <= 30; i++ {
		lines = append(lines, fmt.Sprintf("line %d", i))
	}
	orig := strings.Join(lines, "\n") + "\n"
	hunk := "--- a/f\n+++ b/f\n@@ -10,5 +10,5 @@\n line 10\n line 11\n-line 12\n+LINE 12\n line 13\n line 14\n"
	// Offset: three lines were added at the top since the patch was made.
	shifted := "x\ny\nz\n" + orig
	got, err := applyPatch(t, store, map[string]string{"f": shifted}, hunk, 1)
	if err != nil || !strings.Contains(got, "line 11\nLINE 12\nline 13") {
		t.Fatalf("offset: %v %q", err, got)
	}
	// Fuzz: the first context line changed.
	fuzzed := strings.Replace(orig, "line 10\n", "line ten\n", 1)
	got, err = applyPatch(t, store, map[string]string{"f": fuzzed}, hunk, 1)
	if err != nil || !strings.Contains(got, "line ten\nline 11\nLINE 12") {
		t.Fatalf("fuzz: %v %q", err, got)
	}
	// The changed line itself differs: no fuzz may apply it.
	broken := strings.Replace(orig, "line 12\n", "line twelve\n", 1)
	if _, err := applyPatch(t, store, map[string]string{"f": broken}, hunk, 1); err == nil || !strings.Contains(err.Error(), "does not apply") {
		t.Fatalf("broken: %v", err)
	}
	// Applied already.
	done := strings.Replace(orig, "line 12\n", "LINE 12\n", 1)
	if _, err := applyPatch(t, store, map[string]string{"f": done}, hunk, 1); err == nil || !strings.Contains(err.Error(), "reversed or applied already") {
		t.Fatalf("applied: %v", err)
	}
	for _, bad := range []string{
		"nothing here\n",
		"--- a/f\n+++ b/f\n@@ -1,3 +1,3 @@\n a\n",
		"diff --git a/f b/f\nGIT binary patch\nliteral 0\n",
		"*** a/f\n--- b/f\n***************\n",
	} {
		if _, err := ParsePatch([]byte(bad)); err == nil {
			t.Errorf("parsed %q", bad)
		}
	}
	// Paths leaving the tree are refused.
	if _, err := applyPatch(t, store, map[string]string{"f": orig}, "--- a/../../etc/passwd\n+++ b/../../etc/passwd\n@@ -1 +1 @@\n-x\n+y\n", 1); err == nil {
		t.Fatal("a patch escaped the tree")
	}
}

// GNU patch is the reference: random edits of a file, diffed by the host's
// diff, must give the same result with our patch as with GNU patch.
func TestPatchAgainstGNUPatch(t *testing.T) {
	diff, err1 := exec.LookPath("diff")
	gnu, err2 := exec.LookPath("patch")
	if err1 != nil || err2 != nil {
		t.Skip("diff or patch not installed")
	}
	store := testStore(t)
	rng := rand.New(rand.NewSource(1))
	for round := 0; round < 60; round++ {
		var old []string
		for i := 0; i < 20+rng.Intn(60); i++ {
			old = append(old, fmt.Sprintf("l%d", rng.Intn(15)))
		}
		neu := append([]string(nil), old...)
		for e := 0; e < 1+rng.Intn(6); e++ {
			i := rng.Intn(len(neu))
			switch rng.Intn(3) {
			case 0:
				neu = append(neu[:i], neu[i+1:]...)
			case 1:
				neu = append(neu[:i], append([]string{fmt.Sprintf("new%d", rng.Intn(100))}, neu[i:]...)...)
			default:
				neu[i] = "changed"
			}
		}
		dir := t.TempDir()
		os.MkdirAll(filepath.Join(dir, "a"), 0o755)
		os.MkdirAll(filepath.Join(dir, "b"), 0o755)
		oldText := strings.Join(old, "\n") + "\n"
		newText := strings.Join(neu, "\n")
		if rng.Intn(2) == 0 {
			newText += "\n"
		}
		os.WriteFile(filepath.Join(dir, "a", "f"), []byte(oldText), 0o644)
		os.WriteFile(filepath.Join(dir, "b", "f"), []byte(newText), 0o644)
		cmd := exec.Command(diff, "-U", fmt.Sprint(1+rng.Intn(3)), "a/f", "b/f")
		cmd.Dir = dir
		patch, _ := cmd.Output()
		if len(patch) == 0 {
			continue
		}
		// Apply to a shifted file too, to exercise offsets.
		target := oldText
		if rng.Intn(2) == 0 {
			target = "header\n" + target
		}
		work := t.TempDir()
		os.WriteFile(filepath.Join(work, "f"), []byte(target), 0o644)
		pf := filepath.Join(dir, "p.diff")
		os.WriteFile(pf, patch, 0o644)
		g := exec.Command(gnu, "-p1", "-s", "-i", pf, "-d", work)
		gerr := g.Run()
		want, _ := os.ReadFile(filepath.Join(work, "f"))
		got, err := applyPatch(t, store, map[string]string{"f": target}, string(patch), 1)
		if (gerr == nil) != (err == nil) {
			t.Fatalf("round %d: GNU patch %v, ours %v\n%s", round, gerr, err, patch)
		}
		if err == nil && got != "f="+string(want) {
			t.Fatalf("round %d: ours %q, GNU %q\n%s", round, got, "f="+string(want), patch)
		}
	}
}
