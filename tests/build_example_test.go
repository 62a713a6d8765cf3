package tests

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildExampleHello runs the README's first command,
// examples/hello/bootstrap.sh, on a copy of the example: a Debian
// toolchain sysroot made from the machine's apt sources, imported through
// a tar source whose checksum bst tracks and verifies, and a C program
// compiled on it in the sandbox, checked out and run. A sysroot tarball an
// earlier run left in examples/hello/sysroot is reused.
func TestBuildExampleHello(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the example downloads and unpacks a toolchain")
	}
	for _, tool := range []string{"apt-get", "apt-cache", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the example's sysroot is made from Debian packages, and %s is missing", tool)
		}
	}
	if _, err := os.Stat(filepath.Join("..", "examples", "hello", "sysroot", "debian-sysroot.tar.gz")); err != nil {
		if out, err := exec.Command("apt-cache", "show", "gcc").CombinedOutput(); err != nil {
			t.Skipf("apt knows no gcc package, so no sysroot can be made: %v\n%s", err, out)
		}
	}
	dir := t.TempDir()
	example := filepath.Join(dir, "hello")
	if err := os.Mkdir(example, 0o755); err != nil {
		t.Fatal(err)
	}
	cp := exec.Command("sh", "-c", `tar -C ../examples/hello --exclude=./sysroot --exclude=./checkout --exclude=./.bst -cf - . | tar -C "$1" -xf -`, "sh", example)
	if out, err := cp.CombinedOutput(); err != nil {
		t.Fatalf("copying the example: %v\n%s", err, out)
	}
	// Share the tarball an earlier run made rather than copy it.
	if orig, err := filepath.Abs(filepath.Join("..", "examples", "hello", "sysroot")); err == nil {
		if _, err := os.Stat(orig); err == nil {
			if err := os.Symlink(orig, filepath.Join(example, "sysroot")); err != nil {
				t.Fatal(err)
			}
		}
	}
	// The copy is tracked afresh, as on a machine that never ran it.
	refs := filepath.Join(example, "project.refs")
	os.Remove(refs)

	cmd := exec.Command(filepath.Join(example, "bootstrap.sh"), filepath.Join(binDir, "bst"))
	cmd.Env = append(os.Environ(),
		"HOME="+dir,
		"XDG_CONFIG_HOME="+filepath.Join(dir, ".config"),
		"XDG_CACHE_HOME="+filepath.Join(dir, ".cache"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("bootstrap.sh: %v\n%s", err, out)
	}
	for _, want := range []string{"bst source track base.bst", "new ref for the tar source", "Built 3 elements", "hello, world"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("bootstrap.sh's output lacks %q:\n%s", want, out)
		}
	}
	if data, _ := os.ReadFile(refs); !strings.Contains(string(data), "ref: ") {
		t.Errorf("tracking wrote no ref into project.refs:\n%s", data)
	}

	// The program was compiled from hello.c, not copied: it is an ELF
	// binary and takes the greeting the project option chose.
	bin := filepath.Join(example, "checkout", "usr", "bin", "hello")
	if head, err := os.ReadFile(bin); err != nil || !strings.HasPrefix(string(head), "\x7fELF") {
		t.Fatalf("%s is not an ELF program (%v)", bin, err)
	}
	bst := exec.Command(filepath.Join(binDir, "bst"), "-C", example, "-o", "greeting", "goodbye", "build", "hello.bst")
	bst.Env = cmd.Env
	if out, err := bst.CombinedOutput(); err != nil {
		t.Fatalf("building with greeting=goodbye: %v\n%s", err, out)
	}
	co := exec.Command(filepath.Join(binDir, "bst"), "-o", "greeting", "goodbye", "artifact", "checkout", "hello.bst", "--directory", "co-goodbye")
	co.Dir, co.Env = example, cmd.Env
	if out, err := co.CombinedOutput(); err != nil {
		t.Fatalf("checking out: %v\n%s", err, out)
	}
	run, err := exec.Command(filepath.Join(example, "co-goodbye", "usr", "bin", "hello"), "bst").Output()
	if err != nil || string(run) != "goodbye, bst\n" {
		t.Errorf("the goodbye build prints %q (%v), want %q", run, err, "goodbye, bst\n")
	}
}
