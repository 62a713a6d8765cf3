package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/bstgo/bst/cas"
)

func BenchmarkRunTrue(b *testing.B) {
	f := newFixture(b)
	if !Sealed() {
		b.Log("not sealed")
	}
	for b.Loop() {
		code, err := f.sb.Run(context.Background(), Config{Root: f.root, Args: []string{"/bin/true"}})
		if err != nil || code != 0 {
			b.Fatal(code, err)
		}
	}
}

// bigTree writes a busybox root with n more files, of 512 bytes to 8 KiB,
// in directories of 100 under /usr/lib.
func bigTree(b *testing.B, n int) string {
	tree := busyboxTree(b)
	buf := make([]byte, 8192)
	for i := range n {
		dir := filepath.Join(tree, "usr", "lib", fmt.Sprintf("pkg%d", i/100))
		if i%100 == 0 {
			must(b, os.MkdirAll(dir, 0o755))
		}
		size := 512 + (i*7919)%(len(buf)-512)
		copy(buf, fmt.Sprintf("file %d\n", i))
		must(b, os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%d", i)), buf[:size], 0o644))
	}
	must(b, os.WriteFile(filepath.Join(tree, "etc", "conf"), []byte("a = 1\n"), 0o644))
	return tree
}

const benchChanges = "mkdir /newdir && echo x > /newdir/f && echo y >> /etc/conf && rm /usr/lib/pkg0/f0"

// BenchmarkWritableRoot measures a command changing a 20,000-file root
// and the capture of the changed root: on an overlay (staging the shared
// lower root included, or not: warm), on a private copy, and the way
// scheduler did it before (writable copies of the top-level directories
// over a read-only skeleton, each captured whole).
//
//	go test ./sandbox -run '^$' -bench WritableRoot -benchtime 5x
func BenchmarkWritableRoot(b *testing.B) {
	tree := bigTree(b, 20000)
	store, err := cas.OpenLocal(b.TempDir())
	must(b, err)
	ctx := context.Background()
	root, err := store.CaptureTree(ctx, tree)
	must(b, err)
	newSandbox := func(b *testing.B) *Sandbox {
		sb, err := New(ctx, Options{Stager: store, Dir: b.TempDir()})
		must(b, err)
		b.Cleanup(func() { sb.Close() })
		return sb
	}
	exec := func(b *testing.B, sb *Sandbox) cas.Digest {
		res, err := sb.Exec(ctx, Config{Root: root, RootWritable: true, Env: env, Args: []string{"sh", "-c", benchChanges}})
		if err != nil || res.ExitCode != 0 {
			b.Fatal(res, err)
		}
		return res.Root
	}
	var want cas.Digest
	b.Run("overlay", func(b *testing.B) {
		for b.Loop() {
			want = exec(b, newSandbox(b))
		}
	})
	b.Run("overlay-warm", func(b *testing.B) {
		sb := newSandbox(b)
		exec(b, sb)
		for b.Loop() {
			exec(b, sb)
		}
	})
	b.Run("copy", func(b *testing.B) {
		for b.Loop() {
			sb := newSandbox(b)
			sb.forceCopy = true
			if got := exec(b, sb); got != want {
				b.Fatalf("copy gives %s, overlay %s", got, want)
			}
		}
	})
	b.Run("skeleton", func(b *testing.B) {
		for b.Loop() {
			if got := skeletonRun(b, store, newSandbox(b), root); got != want {
				b.Fatalf("skeleton gives %s, overlay %s", got, want)
			}
		}
	})
}

// skeletonRun is the writable root as scheduler emulated it before
// Config.RootWritable: the root's top-level directories staged as
// writable copies over a read-only skeleton of its other entries, then
// each captured and imported back. (It cannot create top-level entries,
// so the benchmark's command creates /newdir beforehand, as a mount
// point.)
func skeletonRun(b *testing.B, store *cas.LocalStore, sb *Sandbox, root cas.Digest) cas.Digest {
	ctx := context.Background()
	dir, err := store.ReadDirectory(ctx, root)
	must(b, err)
	work := b.TempDir()
	cfg := Config{Env: env, Args: []string{"sh", "-c", benchChanges[len("mkdir /newdir && "):]}}
	var names []string
	for _, sd := range dir.Directories {
		d, _ := cas.DigestFromProto(sd.Digest)
		host := filepath.Join(work, sd.Name)
		must(b, store.StageTree(ctx, d, host, cas.StageOptions{Copy: true}))
		cfg.Writable = append(cfg.Writable, WritableDir{Path: "/" + sd.Name, HostPath: host})
		names = append(names, sd.Name)
	}
	must(b, os.Mkdir(filepath.Join(work, "newdir"), 0o755))
	cfg.Writable = append(cfg.Writable, WritableDir{Path: "/newdir", HostPath: filepath.Join(work, "newdir")})
	names = append(names, "newdir")
	dir.Directories = nil
	cfg.Root, err = store.PutDirectory(ctx, dir)
	must(b, err)
	if code, err := sb.Run(ctx, cfg); err != nil || code != 0 {
		b.Fatal(code, err)
	}
	tree := store.LoadTree(cfg.Root)
	for _, name := range names {
		d, err := store.CaptureTree(ctx, filepath.Join(work, name))
		must(b, err)
		_, err = tree.Import(ctx, d, "/"+name, nil)
		must(b, err)
	}
	d, err := tree.Digest(ctx)
	must(b, err)
	return d
}
