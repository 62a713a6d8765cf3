package plugins

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/source"
)

// The cargo2 source's I/O for crates from a registry: each crate is
// downloaded from <url>/<name>/<name>-<version>.crate and checked against
// its sha, unpacked into the vendor directory with the
// .cargo-checksum.json cargo wants, and .cargo/config.toml points cargo at
// the vendored crates. Crates from git are not fetched yet; an element
// with any says so.

type crate struct {
	name, version, sha string
	git                bool
}

type cargoSource struct {
	configOnly
	origURL, url string // the registry, as written and expanded, with a trailing slash or colon
	vendorDir    string
	crates       []crate
}

var (
	_ source.Fetcher       = (*cargoSource)(nil)
	_ source.FetchedStager = (*cargoSource)(nil)
	_ source.Stager        = (*cargoSource)(nil)
)

// joinURL appends p to a registry URL that may or may not end in "/" or
// an alias colon.
func joinURL(base, p string) string {
	if strings.HasSuffix(base, "/") || strings.HasSuffix(base, ":") {
		return base + p
	}
	return base + "/" + p
}

func (c crate) path() string { return c.name + "/" + c.name + "-" + c.version + ".crate" }

func (s *cargoSource) crateDir(fc *source.FetchContext, c crate) string {
	return filepath.Join(fc.MirrorDir("cargo2"), urlDirectoryName(s.origURL), c.name, c.version)
}

func (s *cargoSource) gitCrates() error {
	for _, c := range s.crates {
		if c.git {
			return fmt.Errorf("bst cannot fetch cargo2 crates from git yet (crate %s %s)", c.name, c.version)
		}
	}
	return nil
}

func (s *cargoSource) IsCached(fc *source.FetchContext) bool {
	if s.gitCrates() != nil {
		return false
	}
	for _, c := range s.crates {
		if st, err := os.Stat(filepath.Join(s.crateDir(fc, c), c.sha)); err != nil || !st.Mode().IsRegular() {
			return false
		}
	}
	return true
}

func (s *cargoSource) Fetch(ctx context.Context, fc *source.FetchContext) error {
	if err := s.gitCrates(); err != nil {
		return fc.Errorf("%v", err)
	}
	for _, c := range s.crates {
		if st, err := os.Stat(filepath.Join(s.crateDir(fc, c), c.sha)); err == nil && st.Mode().IsRegular() {
			continue
		}
		urls, err := fc.URLs(joinURL(s.origURL, c.path()), joinURL(s.url, c.path()))
		if err != nil {
			return err
		}
		fc.Status("Fetching %s", source.Redact(urls[0]))
		if _, err := fc.Download(ctx, urls, s.crateDir(fc, c), c.sha, ""); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fc.Errorf("%v", err)
		}
	}
	return nil
}

// StageFetched unpacks every crate under the vendor directory and writes
// cargo's configuration.
func (s *cargoSource) StageFetched(ctx context.Context, fc *source.FetchContext) (cas.Digest, error) {
	if err := s.gitCrates(); err != nil {
		return cas.Digest{}, fc.Errorf("%v", err)
	}
	d, err := fc.ExtractAndCapture(ctx, "cargo2-", 0, func(tmp string) (string, error) {
		for _, c := range s.crates {
			dir := filepath.Join(tmp, filepath.FromSlash(s.vendorDir), c.name+"-"+c.version)
			if _, err := os.Stat(dir); err == nil {
				return "", fmt.Errorf("crate %s %s is requested twice, which vendoring cannot do", c.name, c.version)
			}
			work := filepath.Join(tmp, ".crate-"+c.name+"-"+c.version)
			if err := os.MkdirAll(work, 0o755); err != nil {
				return "", err
			}
			p := filepath.Join(s.crateDir(fc, c), c.sha)
			var top string
			err := source.VerifyDownload(p, c.sha, func(r io.Reader) error {
				var err error
				top, err = source.ExtractTar(ctx, r, work, source.ExtractOptions{BaseDir: "*",
					Warn: func(msg string) { fc.Warn("", "%s", msg) }})
				return err
			})
			if err != nil {
				return "", fmt.Errorf("crate %s %s: %w", c.name, c.version, err)
			}
			if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
				return "", err
			}
			if err := os.Rename(top, dir); err != nil {
				return "", err
			}
			os.RemoveAll(work)
			sum, _ := json.Marshal(map[string]any{"package": c.sha, "files": map[string]any{}})
			if err := os.WriteFile(filepath.Join(dir, ".cargo-checksum.json"), sum, 0o644); err != nil {
				return "", err
			}
		}
		conf := "[source.crates-io]\nregistry = " + strconv.Quote(s.url) + "\nreplace-with = \"vendored-sources\"\n\n" +
			"[source.vendored-sources]\ndirectory = " + strconv.Quote(s.vendorDir) + "\n"
		if err := os.MkdirAll(filepath.Join(tmp, ".cargo"), 0o755); err != nil {
			return "", err
		}
		return tmp, os.WriteFile(filepath.Join(tmp, ".cargo", "config.toml"), []byte(conf), 0o644)
	})
	if err != nil {
		if ctx.Err() != nil {
			return cas.Digest{}, ctx.Err()
		}
		return cas.Digest{}, fc.Errorf("error staging crates: %v", err)
	}
	return d, nil
}

func (s *cargoSource) Stage(ctx context.Context, store *cas.LocalStore) (cas.Digest, error) {
	return source.StageCached(ctx, store, "cargo2", s.key)
}
