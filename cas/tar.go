package cas

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/dsnet/compress/bzip2"
	"github.com/ulikunitz/xz"
)

// Compressions are the compressions a tarball can be written with.
var Compressions = []string{"gz", "xz", "bz2"}

// CompressionFromName guesses the compression of a tarball from its file
// name: ".tar.gz" or ".tgz", ".tar.xz" or ".txz", ".tar.bz2" or ".tbz2", or
// none.
func CompressionFromName(name string) string {
	for _, c := range []struct{ comp, ext string }{
		{"gz", ".gz"}, {"gz", ".tgz"}, {"xz", ".xz"}, {"xz", ".txz"}, {"bz2", ".bz2"}, {"bz2", ".tbz2"},
	} {
		if strings.HasSuffix(name, c.ext) {
			return c.comp
		}
	}
	return ""
}

// Compress wraps w in a compressor: "" (none), "gz", "xz" or "bz2". Close
// the result to finish the stream; it does not close w.
func Compress(w io.Writer, compression string) (io.WriteCloser, error) {
	switch compression {
	case "":
		return nopWriteCloser{w}, nil
	case "gz":
		return gzip.NewWriter(w), nil
	case "xz":
		return xz.NewWriter(w)
	case "bz2":
		return bzip2.NewWriter(w, &bzip2.WriterConfig{Level: bzip2.BestCompression})
	}
	return nil, fmt.Errorf("unknown compression %q: choose gz, xz or bz2", compression)
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// WriteTar writes the tree root as a tar archive, as BuildStream's
// checkout does: entries named "./path" in name order, each directory
// followed by its contents, owned by 0:0, mode 0755 for directories and
// executables and 0644 for other files, every time BuildStream's magic
// timestamp, so the same tree always gives the same bytes. Each file is
// verified against its digest as it is read.
func (s *LocalStore) WriteTar(ctx context.Context, root Digest, w io.Writer) error {
	tw := tar.NewWriter(w)
	err := s.Walk(ctx, root, func(e Entry) error {
		h := &tar.Header{Name: "./" + e.Path, ModTime: SealTime, Uid: 0, Gid: 0, Format: tar.FormatPAX}
		switch e.Kind {
		case 'd':
			h.Typeflag, h.Mode = tar.TypeDir, 0o755
			return tw.WriteHeader(h)
		case 'l':
			h.Typeflag, h.Linkname, h.Mode = tar.TypeSymlink, e.Target, 0o777
			return tw.WriteHeader(h)
		}
		h.Typeflag, h.Size, h.Mode = tar.TypeReg, e.Digest.Size(), 0o644
		if e.Executable {
			h.Mode = 0o755
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		rc, err := s.Open(ctx, e.Digest)
		if err != nil {
			return err
		}
		defer rc.Close()
		_, err = io.Copy(tw, rc)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}
