package plugins

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/bstgo/bst/source"
)

func sha(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

func tarGz(t *testing.T, files map[string]string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, name := range []string{"pkg-1.0/", "pkg-1.0/README", "pkg-1.0/configure"} {
		body, ok := files[name]
		if !ok {
			continue
		}
		h := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}
		if strings.HasSuffix(name, "/") {
			h.Typeflag, h.Mode, h.Size = tar.TypeDir, 0o755, 0
		}
		if name == "pkg-1.0/configure" {
			h.Mode = 0o755
		}
		tw.WriteHeader(h)
		tw.Write([]byte(body))
	}
	tw.Close()
	zw.Close()
	return buf.Bytes()
}

func zipOf(files map[string]string) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for n, body := range files {
		w, _ := zw.Create(n)
		w.Write([]byte(body))
	}
	zw.Close()
	return buf.Bytes()
}

func TestDownloadableKinds(t *testing.T) {
	tarball := tarGz(t, map[string]string{"pkg-1.0/": "", "pkg-1.0/README": "read me", "pkg-1.0/configure": "#!/bin/sh"})
	zipball := zipOf(map[string]string{"z-2/a.txt": "A"})
	mux := http.NewServeMux()
	mux.HandleFunc("/pkg-1.0.tar.gz", func(w http.ResponseWriter, r *http.Request) { w.Write(tarball) })
	mux.HandleFunc("/z-2.zip", func(w http.ResponseWriter, r *http.Request) { w.Write(zipball) })
	mux.HandleFunc("/tool", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("#!/bin/sh\necho tool\n")) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := testContext{dir: t.TempDir(), aliases: map[string]string{"upstream": srv.URL + "/"}}
	// The project has the alias too, and a mirror that is down: fetching
	// tries it first, then the alias.
	proj := &source.Project{Name: "test", Aliases: ctx.aliases,
		Mirrors:       []source.Mirror{{Name: "down", Aliases: map[string][]string{"upstream": {srv.URL + "/nothing-here/"}}}},
		DefaultMirror: "down"}
	for _, c := range []struct {
		kind source.Kind
		yaml string
		data []byte
		want string
	}{
		{tarKind{}, "kind: tar\nurl: upstream:pkg-1.0.tar.gz\n", tarball, "README=read me configure*=#!/bin/sh"},
		{zipKind{}, "kind: zip\nurl: upstream:z-2.zip\n", zipball, "a.txt=A"},
		{remoteKind{}, "kind: remote\nurl: upstream:tool\nexecutable: true\n", []byte("#!/bin/sh\necho tool\n"), "tool*=#!/bin/sh\necho tool"},
	} {
		t.Run(c.kind.Name(), func(t *testing.T) {
			env := newEnv(t, proj)
			// Track gives the checksum as the ref.
			s := configure(t, c.kind, ctx, c.yaml)
			upd, err := s.(source.Tracker).Track(t.Context(), env.tracking())
			if err != nil {
				t.Fatal(err)
			}
			if upd.String() != sha(c.data) {
				t.Fatalf("tracked %s, want %s", upd, sha(c.data))
			}
			// With the ref, fetch and stage.
			s = configure(t, c.kind, ctx, c.yaml+"ref: "+sha(c.data)+"\n")
			f := s.(source.Fetcher)
			fresh := newEnv(t, proj)
			if f.IsCached(fresh.fc()) {
				t.Fatal("cached before fetching")
			}
			if err := f.Fetch(t.Context(), fresh.fc()); err != nil {
				t.Fatal(err)
			}
			if !f.IsCached(fresh.fc()) {
				t.Fatal("not cached after fetching")
			}
			d, err := s.(source.FetchedStager).StageFetched(t.Context(), fresh.fc())
			if err != nil {
				t.Fatal(err)
			}
			if got := staged(t, fresh.Store, d); got != c.want {
				t.Errorf("staged %q, want %q", got, c.want)
			}
			// A wrong ref is refused, and nothing is kept.
			bad := configure(t, c.kind, ctx, c.yaml+"ref: "+strings.Repeat("0", 64)+"\n")
			err = bad.(source.Fetcher).Fetch(t.Context(), fresh.fc())
			if err == nil || !strings.Contains(err.Error(), "has sha256sum") || !strings.Contains(err.Error(), "elements/test.bst [line 2") {
				t.Fatalf("wrong ref: %v", err)
			}
			if bad.(source.Fetcher).IsCached(fresh.fc()) {
				t.Fatal("a download with the wrong checksum was kept")
			}
		})
	}
}

// Staging a fetched source goes through the source cache: Stager.Stage
// (the build's way in) finds what Env.Fetch put there.
func TestStageFromSourceCache(t *testing.T) {
	tarball := tarGz(t, map[string]string{"pkg-1.0/README": "read me"})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(tarball) }))
	defer srv.Close()
	ctx := testContext{dir: t.TempDir()}
	s := configure(t, tarKind{}, ctx, "kind: tar\nurl: "+srv.URL+"/pkg.tar.gz\nref: "+sha(tarball)+"\n")
	env := newEnv(t, nil)
	if _, err := s.(source.Stager).Stage(t.Context(), env.Store); err == nil || !strings.Contains(err.Error(), "fetch it first") {
		t.Fatalf("staging before fetching: %v", err)
	}
	es := &source.ElementSources{Element: "test.bst", Project: "test", Entries: []source.Entry{{Kind: "tar", Source: s}}}
	if _, err := env.Fetch(t.Context(), es); err != nil {
		t.Fatal(err)
	}
	d, err := s.(source.Stager).Stage(t.Context(), env.Store)
	if err != nil || staged(t, env.Store, d) != "README=read me" {
		t.Fatalf("stage: %v", err)
	}
}

// A download damaged after it was fetched (a crash before the data reached
// the disk) is caught when staging, and removed so it is fetched again.
func TestDamagedDownloadIsRefetched(t *testing.T) {
	tarball := tarGz(t, map[string]string{"pkg-1.0/README": "read me"})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(tarball) }))
	defer srv.Close()
	ctx := testContext{dir: t.TempDir()}
	s := configure(t, tarKind{}, ctx, "kind: tar\nurl: "+srv.URL+"/pkg.tar.gz\nref: "+sha(tarball)+"\n")
	env := newEnv(t, nil)
	f := s.(source.Fetcher)
	if err := f.Fetch(t.Context(), env.fc()); err != nil {
		t.Fatal(err)
	}
	p := s.(*tarSource).mirrorFile(env.fc(), "tar")
	if err := os.Truncate(p, int64(len(tarball)/2)); err != nil {
		t.Fatal(err)
	}
	_, err := s.(source.FetchedStager).StageFetched(t.Context(), env.fc())
	if err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Fatalf("staging a damaged download: %v", err)
	}
	if f.IsCached(env.fc()) {
		t.Fatal("the damaged download is still cached")
	}
}
