package source

import (
	"archive/tar"
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Archives are untrusted input. Extraction writes only inside the staging
// directory (every file operation goes through an os.Root, which refuses
// to leave it, even through symlinks), and refuses or neutralises what
// could reach outside it or carry privileges:
//
//   - an entry with an absolute path or a ".." component is refused;
//   - a hard link to an absolute path, a ".." path, or to something not
//     extracted before it is refused;
//   - a symbolic link whose relative target climbs out of the staged tree
//     is refused; absolute targets are kept, as BuildStream keeps them,
//     since in the sandbox they point inside the sandbox's root;
//   - device nodes and FIFOs are skipped with a warning (BuildStream skips
//     device nodes), as is anything else that is not a file, directory or
//     link;
//   - permissions are not kept: files are 0644, or 0755 when the owner
//     could execute them, directories 0755; setuid, setgid and sticky bits
//     are dropped with a warning.
//
// Every refusal is an *UnsafeEntryError naming the entry.

// UnsafeEntryError is an archive entry extraction refused.
type UnsafeEntryError struct {
	Entry  string
	Reason string
}

func (e *UnsafeEntryError) Error() string {
	return fmt.Sprintf("refusing archive entry %q: %s", e.Entry, e.Reason)
}

// ErrEmptyArchive is ExtractTar's error for a stream with no tar entry:
// an empty file, or one that is not a tar archive.
var ErrEmptyArchive = errors.New("reading the archive: it is empty or not a tar archive")

// ExtractOptions say how to extract an archive.
type ExtractOptions struct {
	// BaseDir is the source's base-dir glob: the first directory of the
	// archive matching it (in sorted order) is what is staged. Empty
	// stages the whole archive.
	BaseDir string
	// Warn receives what was skipped or changed, naming the entry.
	Warn func(msg string)
}

func (o ExtractOptions) warn(format string, args ...any) {
	if o.Warn != nil {
		o.Warn(fmt.Sprintf(format, args...))
	}
}

// cleanEntry turns an archive path into a clean relative path ("" for the
// root), refusing absolute paths and "..".
func cleanEntry(entry, p string) (string, error) {
	if strings.HasPrefix(p, "/") {
		return "", &UnsafeEntryError{entry, "its path is absolute"}
	}
	var parts []string
	for _, c := range strings.Split(p, "/") {
		switch c {
		case "", ".":
			continue
		case "..":
			return "", &UnsafeEntryError{entry, "its path goes up with '..'"}
		}
		if strings.ContainsRune(c, 0) {
			return "", &UnsafeEntryError{entry, "its path holds a NUL byte"}
		}
		parts = append(parts, c)
	}
	return strings.Join(parts, "/"), nil
}

// stagingRoot writes inside one directory. Directories it writes into
// are kept open (a few at a time) as roots of their own, so creating a
// file is one openat of its name rather than a walk from the top.
type stagingRoot struct {
	root *os.Root
	dirs map[string]*os.File // open directories by path
	made map[string]bool     // directories created
	seen map[string]byte     // files ('f') and links ('l') created
	buf  []byte
}

const maxOpenDirs = 64

func newStagingRoot(root *os.Root) *stagingRoot {
	return &stagingRoot{root: root, dirs: map[string]*os.File{}, made: map[string]bool{"": true}, seen: map[string]byte{}}
}

func (s *stagingRoot) close() {
	for _, d := range s.dirs {
		d.Close()
	}
}

func (s *stagingRoot) mkdirAll(p string) error {
	if p == "" || p == "." || s.made[p] {
		return nil
	}
	if s.seen[p] == 'f' {
		return fmt.Errorf("%s is a file, extracted before", p)
	}
	if err := s.root.MkdirAll(p, 0o755); err != nil {
		return err
	}
	for d := p; d != "." && d != "" && !s.made[d]; d = path.Dir(d) {
		s.made[d] = true
	}
	return nil
}

// dirFD returns a descriptor of the directory p, created if needed. It is
// opened through the root, so it is inside it; files are then created in
// it by name alone.
func (s *stagingRoot) dirFD(p string) (int, error) {
	if p == "." {
		p = ""
	}
	if d, ok := s.dirs[p]; ok {
		return int(d.Fd()), nil
	}
	if err := s.mkdirAll(p); err != nil {
		return -1, err
	}
	name := p
	if name == "" {
		name = "."
	}
	d, err := s.root.Open(name)
	if err != nil {
		return -1, err
	}
	if len(s.dirs) >= maxOpenDirs {
		for k, old := range s.dirs {
			old.Close()
			delete(s.dirs, k)
		}
	}
	s.dirs[p] = d
	return int(d.Fd()), nil
}

// clear removes what is at p so a file or link can take its place; a
// directory in the way is an error, as it is for tar.
func (s *stagingRoot) clear(entry, p string) error {
	if s.made[p] {
		return &UnsafeEntryError{entry, "a directory of the same name was extracted before it"}
	}
	st, err := s.root.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if st.IsDir() {
		return &UnsafeEntryError{entry, "a directory of the same name was extracted before it"}
	}
	return s.root.Remove(p)
}

// writeFile creates the file p with r's content. The file is created by
// its last component in its directory's descriptor, with O_EXCL (which
// never follows a symlink), and written with plain system calls: the
// cheapest way to make many small files.
func (s *stagingRoot) writeFile(entry, p string, r io.Reader, exec bool) error {
	mode := uint32(0o644)
	if exec {
		mode = 0o755
	}
	dfd, err := s.dirFD(path.Dir(p))
	if err != nil {
		return err
	}
	name := path.Base(p)
	if s.seen[p] != 0 || s.made[p] {
		if err := s.clear(entry, p); err != nil {
			return err
		}
	}
	const flags = unix.O_WRONLY | unix.O_CREAT | unix.O_EXCL | unix.O_NOFOLLOW | unix.O_CLOEXEC
	fd, err := unix.Openat(dfd, name, flags, mode)
	if errors.Is(err, unix.EEXIST) {
		// Written through another path (a symlinked directory): replace.
		if err := s.clear(entry, p); err != nil {
			return err
		}
		fd, err = unix.Openat(dfd, name, flags, mode)
	}
	if err != nil {
		return &fs.PathError{Op: "create", Path: p, Err: err}
	}
	s.seen[p] = 'f'
	if s.buf == nil {
		s.buf = make([]byte, 128<<10)
	}
	err = writeAll(fd, r, s.buf)
	if cerr := unix.Close(fd); err == nil && cerr != nil {
		err = &fs.PathError{Op: "close", Path: p, Err: cerr}
	}
	return err
}

func writeAll(fd int, r io.Reader, buf []byte) error {
	for {
		n, rerr := r.Read(buf)
		for b := buf[:n]; len(b) > 0; {
			w, err := unix.Write(fd, b)
			if err == unix.EINTR {
				continue
			}
			if err != nil {
				return err
			}
			b = b[w:]
		}
		if rerr == io.EOF {
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

// symlinkEscapes reports whether a relative symlink target, from the link
// at p (relative to the staged root), climbs out of the root.
func symlinkEscapes(p, target string) bool {
	if strings.HasPrefix(target, "/") {
		return false
	}
	j := path.Join(path.Dir(p), target)
	return j == ".." || strings.HasPrefix(j, "../")
}

// pyLstrip is Python's str.lstrip("./"): every leading '.' and '/'. The
// tar source lists base-dir candidates this way.
func pyLstrip(s string) string { return strings.TrimLeft(s, "./") }

// baseDirCandidates lists an archive's directories as BuildStream's
// _list_tar_paths and _list_archive_paths do: the directory entries, and
// the parents of other entries when the archive has no entry for them.
type baseDirCandidates struct {
	members map[string]bool // names as the archive library sees them
	visited map[string]bool
	paths   []string
}

func newCandidates() *baseDirCandidates {
	return &baseDirCandidates{members: map[string]bool{}, visited: map[string]bool{}}
}

// pick returns the base directory for pattern, relative to the archive's
// root ("" when the pattern is empty), and whether it was found.
func (c *baseDirCandidates) pick(pattern string) (string, error) {
	if pattern == "" {
		return "", nil
	}
	m, ok, err := globFirst(c.paths, pattern)
	if err != nil {
		return "", fmt.Errorf("invalid base-dir %q: %w", pattern, err)
	}
	if !ok {
		return "", fmt.Errorf("could not find base directory matching pattern: %s", pattern)
	}
	return m, nil
}

// ExtractTar extracts the tar stream r — plain, or compressed with gzip,
// bzip2, xz, zstd or lzip — into dest, an empty directory, and returns the
// directory holding what is to be staged: dest itself, or its base
// directory (ExtractOptions.BaseDir, with the semantics of BuildStream's
// tar source).
//
// The whole archive is extracted and the base directory picked
// afterwards, so the archive is read once; hard links to files outside
// the base directory therefore stage their content, as BuildStream does.
func ExtractTar(ctx context.Context, r io.Reader, dest string, o ExtractOptions) (string, error) {
	dr, err := Decompress(r)
	if err != nil {
		return "", fmt.Errorf("reading the archive: %w", err)
	}
	defer dr.Close()
	root, err := os.OpenRoot(dest)
	if err != nil {
		return "", err
	}
	defer root.Close()
	sr := newStagingRoot(root)
	defer sr.close()
	cands := newCandidates()
	type link struct{ entry, path, target string }
	var symlinks []link
	var dropped []string
	tr := tar.NewReader(dr)
	for n := 0; ; n++ {
		if n%64 == 0 && ctx.Err() != nil {
			return "", ctx.Err()
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			if n == 0 {
				return "", ErrEmptyArchive
			}
			break
		}
		if err != nil {
			return "", fmt.Errorf("reading the archive: %w", err)
		}
		// Python's tarfile drops the trailing slashes of directories;
		// names are compared in that form.
		name := hdr.Name
		isDir := hdr.Typeflag == tar.TypeDir || (hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeRegA) && strings.HasSuffix(name, "/")
		if isDir {
			name = strings.TrimRight(name, "/")
			if name == "" {
				name = "/"
			}
		}
		cands.members[name] = true
		listed := pyLstrip(name)
		if !isDir {
			comps := strings.Split(listed, "/")
			for i := 1; i < len(comps); i++ {
				d := strings.Join(comps[:i], "/")
				if !cands.visited[d] {
					cands.visited[d] = true
					if !cands.members[d] && d != "." {
						cands.paths = append(cands.paths, d)
					}
				}
			}
		} else if listed != "." {
			// A "./" entry lists as "" here, as it does in BuildStream,
			// where it then matches base-dir '*' and stages the whole
			// archive: kept for identical results.
			cands.paths = append(cands.paths, listed)
		}

		p, err := cleanEntry(hdr.Name, strings.TrimPrefix(name, "./"))
		if err != nil {
			return "", err
		}
		if hdr.Mode&(0o4000|0o2000|0o1000) != 0 && !isDir || hdr.Mode&(0o4000|0o2000) != 0 {
			dropped = append(dropped, hdr.Name)
		}
		switch {
		case isDir:
			if err := sr.mkdirAll(p); err != nil {
				return "", entryError(hdr.Name, err)
			}
		case p == "":
			return "", &UnsafeEntryError{hdr.Name, "it would replace the staging directory itself"}
		case hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeRegA || hdr.Typeflag == tar.TypeGNUSparse || hdr.Typeflag == tar.TypeCont:
			if err := sr.writeFile(hdr.Name, p, tr, hdr.Mode&0o100 != 0); err != nil {
				return "", entryError(hdr.Name, err)
			}
		case hdr.Typeflag == tar.TypeSymlink:
			if hdr.Linkname == "" {
				return "", &UnsafeEntryError{hdr.Name, "it is a symbolic link to nothing"}
			}
			if symlinkEscapes(p, hdr.Linkname) {
				return "", &UnsafeEntryError{hdr.Name, fmt.Sprintf("it is a symbolic link to %q, outside the staged files", hdr.Linkname)}
			}
			if err := sr.mkdirAll(path.Dir(p)); err != nil {
				return "", entryError(hdr.Name, err)
			}
			if err := sr.clear(hdr.Name, p); err != nil {
				return "", entryError(hdr.Name, err)
			}
			if err := root.Symlink(hdr.Linkname, p); err != nil {
				return "", entryError(hdr.Name, err)
			}
			sr.seen[p] = 'l'
			symlinks = append(symlinks, link{hdr.Name, p, hdr.Linkname})
		case hdr.Typeflag == tar.TypeLink:
			target, err := cleanEntry(hdr.Name, strings.TrimPrefix(hdr.Linkname, "./"))
			if err != nil {
				return "", &UnsafeEntryError{hdr.Name, fmt.Sprintf("it is a hard link to %q, outside the staged files", hdr.Linkname)}
			}
			st, err := root.Lstat(target)
			if err != nil || target == "" {
				return "", &UnsafeEntryError{hdr.Name, fmt.Sprintf("it is a hard link to %q, which the archive does not hold before it", hdr.Linkname)}
			}
			if st.IsDir() {
				return "", &UnsafeEntryError{hdr.Name, fmt.Sprintf("it is a hard link to the directory %q", hdr.Linkname)}
			}
			if err := sr.mkdirAll(path.Dir(p)); err != nil {
				return "", entryError(hdr.Name, err)
			}
			if target == p {
				continue
			}
			if err := sr.clear(hdr.Name, p); err != nil {
				return "", entryError(hdr.Name, err)
			}
			if err := root.Link(target, p); err != nil {
				return "", entryError(hdr.Name, err)
			}
			sr.seen[p] = 'f'
		case hdr.Typeflag == tar.TypeChar || hdr.Typeflag == tar.TypeBlock:
			o.warn("skipped the device node %q of the archive", hdr.Name)
		case hdr.Typeflag == tar.TypeFifo:
			o.warn("skipped the FIFO %q of the archive", hdr.Name)
		default:
			o.warn("skipped the archive entry %q of unsupported type %q", hdr.Name, string(hdr.Typeflag))
		}
	}
	if len(dropped) > 0 {
		shown := dropped
		if len(shown) > 5 {
			shown = append(shown[:5:5], "…")
		}
		o.warn("dropped setuid, setgid or sticky bits of %d archive entries: %s", len(dropped), strings.Join(shown, ", "))
	}
	base, err := cands.pick(o.BaseDir)
	if err != nil {
		return "", err
	}
	bp, err := cleanEntry(base, strings.TrimPrefix(base, "./"))
	if err != nil {
		return "", err
	}
	if bp != "" {
		st, err := root.Lstat(bp)
		if err != nil || !st.IsDir() {
			return "", fmt.Errorf("base directory %q of the archive is not a directory", base)
		}
	}
	// Symbolic links must stay inside what is staged, now that it is
	// known.
	for _, l := range symlinks {
		rel, ok := under(l.path, bp)
		if ok && symlinkEscapes(rel, l.target) {
			return "", &UnsafeEntryError{l.entry, fmt.Sprintf("it is a symbolic link to %q, outside the staged base directory %q", l.target, base)}
		}
	}
	return filepath.Join(dest, filepath.FromSlash(bp)), nil
}

// under returns p relative to dir when p is inside it.
func under(p, dir string) (string, bool) {
	if dir == "" {
		return p, true
	}
	if rel, ok := strings.CutPrefix(p, dir+"/"); ok {
		return rel, true
	}
	return "", false
}

// entryError names the entry an I/O error happened on; errors of the
// os.Root refusing to leave the directory say so.
func entryError(entry string, err error) error {
	var ue *UnsafeEntryError
	if errors.As(err, &ue) {
		return err
	}
	if strings.Contains(err.Error(), "path escapes from parent") {
		return &UnsafeEntryError{entry, "it would be written through a symbolic link leading outside the staged files"}
	}
	return fmt.Errorf("extracting archive entry %q: %w", entry, err)
}

// ExtractZip extracts the zip archive at zipPath into dest, an empty
// directory, as BuildStream's zip source does: only what is under the base
// directory (ExtractOptions.BaseDir, matched against the archive's
// directories), files with mode 0644 (zip archives carry no permissions
// bst keeps), directories 0755. Symbolic link entries become files holding
// the link's target, as Python's zipfile extracts them.
func ExtractZip(ctx context.Context, zipPath, dest string, o ExtractOptions) error {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return fmt.Errorf("reading the archive: %w", err)
	}
	defer zr.Close()
	cands := newCandidates()
	for _, f := range zr.File {
		cands.members[f.Name] = true
	}
	for _, f := range zr.File {
		if !strings.HasSuffix(f.Name, "/") {
			comps := strings.Split(f.Name, "/")
			for i := 1; i < len(comps); i++ {
				d := strings.Join(comps[:i], "/")
				if !cands.visited[d] {
					cands.visited[d] = true
					if !cands.members[d] && d != "." {
						cands.paths = append(cands.paths, d)
					}
				}
			}
			continue
		}
		if f.Name != "." && f.Name != "./" {
			cands.paths = append(cands.paths, f.Name)
		}
	}
	base, err := cands.pick(o.BaseDir)
	if err != nil {
		return err
	}
	if base != "" && !strings.HasSuffix(base, "/") {
		base += "/"
	}
	root, err := os.OpenRoot(dest)
	if err != nil {
		return err
	}
	defer root.Close()
	sr := newStagingRoot(root)
	defer sr.close()
	for i, f := range zr.File {
		if i%64 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		name := f.Name
		if base != "" {
			if name == base {
				continue
			}
			rest, ok := strings.CutPrefix(name, base)
			if !ok {
				continue
			}
			name = rest
		}
		p, err := cleanEntry(f.Name, name)
		if err != nil {
			return err
		}
		if strings.HasSuffix(name, "/") {
			if err := sr.mkdirAll(p); err != nil {
				return entryError(f.Name, err)
			}
			continue
		}
		if p == "" {
			continue
		}
		if f.Mode()&(fs.ModeSetuid|fs.ModeSetgid) != 0 {
			o.warn("dropped the setuid or setgid bit of %q", f.Name)
		}
		if f.Mode()&(fs.ModeDevice|fs.ModeNamedPipe|fs.ModeSocket) != 0 {
			o.warn("skipped the special file %q of the archive", f.Name)
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return fmt.Errorf("reading archive entry %q: %w", f.Name, err)
		}
		err = sr.writeFile(f.Name, p, rc, false)
		rc.Close()
		if err != nil {
			return entryError(f.Name, err)
		}
	}
	return nil
}
