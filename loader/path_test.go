//go:build unix

package loader

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/bstgo/bst/loader/node"
)

// Project.projectPath takes a shortcut when no component is a link; it
// must answer as projectPath does, links or not.
func TestProjectPathShortcut(t *testing.T) {
	base := t.TempDir()
	outside := filepath.Join(base, "outside")
	real := filepath.Join(base, "real")
	writeTree(t, real, map[string]string{
		"files/a.txt": "a", "files/sub/b.txt": "b", "include/x.yml": "x: 1",
	})
	writeTree(t, outside, map[string]string{"secret": "s"})
	for _, l := range [][2]string{
		{"files/link-in", "a.txt"}, {"files/link-dir", "sub"}, {"files/link-out", "../../outside/secret"},
		{"files/link-abs", outside}, {"files/dangling", "nowhere"},
	} {
		if err := os.Symlink(l[1], filepath.Join(real, l[0])); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mkfifo(filepath.Join(real, "files/fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	// The project's directory is itself reached through a link.
	dir := filepath.Join(base, "project")
	if err := os.Symlink("real", dir); err != nil {
		t.Fatal(err)
	}
	paths := []string{
		"files", "files/", "./files", "files/a.txt", "files/sub/b.txt", "files/sub", "files//sub/./b.txt",
		"files/a.txt/x", "files/missing", "missing/x", "include/x.yml", ".", "", "..", "../outside/secret",
		"files/../include/x.yml", "files/link-in", "files/link-dir/b.txt", "files/link-out", "files/link-abs",
		"files/link-abs/secret", "files/dangling", "files/fifo", "/etc/passwd",
	}
	p := &Project{Dir: dir}
	for round := 0; round < 2; round++ { // the second with the directories known
		for _, rel := range paths {
			for _, flags := range [][2]bool{{false, false}, {true, false}, {true, true}, {false, true}} {
				n := node.NewScalar(node.Synthetic, rel)
				want, wantErr := projectPath(dir, n, flags[0], flags[1])
				got, gotErr := p.projectPath(n, flags[0], flags[1])
				if got != want || (gotErr == nil) != (wantErr == nil) ||
					gotErr != nil && gotErr.Error() != wantErr.Error() {
					t.Errorf("%q %v: got %q, %v; want %q, %v", rel, flags, got, gotErr, want, wantErr)
				}
			}
		}
	}
}
