package plugins

import (
	"context"
	"os"
	"path/filepath"

	"github.com/bstgo/bst/loader/node"
	"github.com/bstgo/bst/source"
)

// Fetching, tracking and the downloads' layout, shared by the sources that
// download one file (remote, tar, zip): BuildStream's
// DownloadableFileSource. A download is kept as
//
//	<sourcedir>/<kind>/<url_directory_name(url as written)>/<sha256>
//
// beside an "<sha256>.etag" file when the server gave an ETag.

// urlDirectoryName is BuildStream's utils.url_directory_name: every
// character but ASCII letters, digits and "%" becomes "_".
func urlDirectoryName(u string) string {
	b := []byte(u)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '%') {
			b[i] = '_'
		}
	}
	return string(b)
}

func (d *downloadable) mirrorDir(fc *source.FetchContext, kind string) string {
	return filepath.Join(fc.MirrorDir(kind), urlDirectoryName(d.OriginalURL))
}

// mirrorFile is the download of the current ref.
func (d *downloadable) mirrorFile(fc *source.FetchContext, kind string) string {
	return filepath.Join(d.mirrorDir(fc, kind), d.Ref)
}

func (d *downloadable) isCached(fc *source.FetchContext, kind string) bool {
	if d.Ref == "" {
		return false
	}
	st, err := os.Stat(d.mirrorFile(fc, kind))
	return err == nil && st.Mode().IsRegular()
}

// fetch downloads the file, which must have the ref's checksum.
func (d *downloadable) fetch(ctx context.Context, fc *source.FetchContext, kind string) error {
	urls, err := fc.URLs(d.OriginalURL, d.URL)
	if err != nil {
		return err
	}
	fc.Status("Fetching %s", source.Redact(urls[0]))
	if _, err := fc.Download(ctx, urls, d.mirrorDir(fc, kind), d.Ref, ""); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fc.Errorf("%v", err)
	}
	return nil
}

// track downloads the file and returns its checksum as the new ref.
// When the current ref's file is cached and the server gave an ETag, the
// server is asked whether it changed first.
func (d *downloadable) track(ctx context.Context, fc *source.FetchContext, kind string) (*source.RefUpdate, error) {
	urls, err := fc.URLs(d.OriginalURL, d.URL)
	if err != nil {
		return nil, err
	}
	dir := d.mirrorDir(fc, kind)
	etag := ""
	if d.isCached(fc, kind) {
		etag = source.ReadETag(dir, d.Ref)
	}
	fc.Status("Tracking %s", source.Redact(urls[0]))
	res, err := fc.Download(ctx, urls, dir, "", etag)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fc.Errorf("%v", err)
	}
	ref := res.SHA256
	if res.NotModified {
		ref = d.Ref
	}
	if d.Ref != "" && ref != d.Ref {
		fc.Warn("", "Potential man-in-the-middle attack! When tracking, the new ref differs from the current ref:\n"+
			"  Tracked URL: %s\n  Current ref: %s\n  New ref: %s", source.Redact(d.URL), d.Ref, ref)
	}
	return &source.RefUpdate{Set: []source.RefField{{Key: "ref", Value: node.NewScalar(node.Synthetic, ref)}}}, nil
}
