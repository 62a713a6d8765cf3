package source

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/bstgo/bst/cas"
)

// Extracting an archive writes every file once to be captured into the
// CAS and then deletes it: on a disk that is two journal updates (and, on
// file systems mounted with discard, a trim) per file for nothing kept.
// When a tmpfs is at hand ($XDG_RUNTIME_DIR or /dev/shm), sources are
// extracted there instead, which costs memory for the time of one capture;
// archives that are big, or too big for the space left, and any
// extraction that runs out of space, use the cache's temporary directory.

// scratchMaxArchive is the largest download extracted in memory.
const scratchMaxArchive = 256 << 20

// findScratch returns a private directory on a tmpfs, or "".
func findScratch() string {
	var candidates []string
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		candidates = append(candidates, d)
	}
	candidates = append(candidates, "/dev/shm")
	for _, c := range candidates {
		var st unix.Statfs_t
		if unix.Statfs(c, &st) != nil || st.Type != unix.TMPFS_MAGIC {
			continue
		}
		cleanStaleScratch(c)
		d, err := os.MkdirTemp(c, "bst-scratch-")
		if err != nil {
			continue
		}
		return d
	}
	return ""
}

// cleanStaleScratch removes scratch directories that killed processes
// left, a day old or more.
func cleanStaleScratch(dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "bst-scratch-") {
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > 24*time.Hour {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}

// scratchDir returns a new directory on the scratch tmpfs when an
// archive of sizeHint bytes may be extracted there.
func (fc *FetchContext) scratchDir(prefix string, sizeHint int64) (string, bool) {
	if fc.scratch == "" || sizeHint > scratchMaxArchive {
		return "", false
	}
	var st unix.Statfs_t
	if unix.Statfs(fc.scratch, &st) != nil || int64(st.Bavail)*st.Bsize < 8*sizeHint+64<<20 {
		return "", false
	}
	d, err := os.MkdirTemp(fc.scratch, prefix)
	if err != nil {
		return "", false
	}
	return d, true
}

// ExtractAndCapture runs extract in a fresh directory — on the scratch
// tmpfs when the archive (sizeHint bytes) fits, else in the cache's
// temporary directory — and captures the directory it returns into the
// CAS. Running out of space on the tmpfs starts again on disk. The
// directory is removed in the background afterwards.
func (fc *FetchContext) ExtractAndCapture(ctx context.Context, prefix string, sizeHint int64, extract func(dir string) (string, error)) (cas.Digest, error) {
	try := func(dir string) (cas.Digest, error) {
		defer fc.RemoveLater(dir)
		sub, err := extract(dir)
		if err != nil {
			return cas.Digest{}, err
		}
		return fc.Capture(ctx, sub)
	}
	if dir, ok := fc.scratchDir(prefix, sizeHint); ok {
		d, err := try(dir)
		if err == nil || !errors.Is(err, unix.ENOSPC) {
			return d, err
		}
		fc.Status("no space left in %s: extracting on disk instead", fc.scratch)
	}
	dir, err := fc.TempDir(prefix)
	if err != nil {
		return cas.Digest{}, err
	}
	return try(dir)
}
