package plugins

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/loader/node"
	"github.com/bstgo/bst/source"
)

// The docker source's I/O: an image's manifest and layers from a registry
// speaking the Docker Registry HTTP API v2 (the OCI distribution API),
// kept in the source directory by digest, and the layers applied in order
// with their whiteouts when staged, as buildstream-plugins' docker does.
//
// Fetching asks for <registry>/v2/<image>/manifests/sha256:<ref> and
// checks that the manifest's SHA-256 is the ref; a manifest list (a
// multi-platform image) is not an image, and is refused, since a ref names
// one platform's manifest. Tracking asks for the tag of `track`, choosing
// in a manifest list the image of `architecture` and `os` (by default
// this machine's, named as Go and Docker name them: amd64, arm64). A 401
// answer with a Bearer challenge is met by asking the challenge's realm
// for an anonymous token, once per request.
//
// Layers are Docker's or OCI's tar layers, gzip- or zstd-compressed or
// plain. Staging extracts each into its own directory with the checks of
// every archive (source.ExtractTar), applies its whiteouts to the layers
// below (`.wh.NAME` removes NAME, `.wh..wh..opq` empties its directory),
// drops what is under /dev, and moves its files over what the layers below
// left.

const (
	mediaDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
	mediaDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
	mediaOCIManifest    = "application/vnd.oci.image.manifest.v1+json"
	mediaOCIIndex       = "application/vnd.oci.image.index.v1+json"
)

var layerMediaTypes = map[string]bool{
	"application/vnd.docker.image.rootfs.diff.tar.gzip": true,
	"application/vnd.oci.image.layer.v1.tar":            true,
	"application/vnd.oci.image.layer.v1.tar+gzip":       true,
	"application/vnd.oci.image.layer.v1.tar+zstd":       true,
}

type dockerSource struct {
	configOnly
	// written and translated are the registry (image form) or the whole
	// image URL (url form), as written and with its alias expanded.
	written, translated string
	urlForm             bool
	image               string
	digest              string // "sha256:<hex>", or "" without a ref
	tag, arch, os       string
}

var (
	_ source.Fetcher       = (*dockerSource)(nil)
	_ source.FetchedStager = (*dockerSource)(nil)
	_ source.Tracker       = (*dockerSource)(nil)
	_ source.Stager        = (*dockerSource)(nil)
)

// Stage returns what the source cache holds for the image (it is staged
// there once fetched).
func (s *dockerSource) Stage(ctx context.Context, store *cas.LocalStore) (cas.Digest, error) {
	return source.StageCached(ctx, store, "docker", s.key)
}

// dockerManifest is what bst reads of an image manifest or a manifest
// list.
type dockerManifest struct {
	SchemaVersion int    `json:"schemaVersion"`
	MediaType     string `json:"mediaType"`
	Layers        []struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
		Size      int64  `json:"size"`
	} `json:"layers"`
	Manifests []struct {
		Digest   string `json:"digest"`
		Platform struct {
			Architecture string `json:"architecture"`
			OS           string `json:"os"`
		} `json:"platform"`
	} `json:"manifests"`
}

func (m *dockerManifest) isList() bool {
	return m.MediaType == mediaDockerList || m.MediaType == mediaOCIIndex || m.MediaType == "" && len(m.Manifests) > 0
}

// defaultDockerArch is this machine's architecture as images name it:
// Go's names are the same (amd64, arm64, ppc64le, s390x, riscv64).
func defaultDockerArch() string { return runtime.GOARCH }

func (s *dockerSource) dir(fc *source.FetchContext) string { return fc.MirrorDir("docker") }

func (s *dockerSource) manifestPath(fc *source.FetchContext) string {
	return filepath.Join(s.dir(fc), s.digest+".manifest.json")
}

func (s *dockerSource) blobPath(fc *source.FetchContext, digest string) string {
	return filepath.Join(s.dir(fc), digest+".tar.gz")
}

// loadManifest reads the fetched manifest, checking its digest.
func (s *dockerSource) loadManifest(fc *source.FetchContext) (*dockerManifest, error) {
	b, err := os.ReadFile(s.manifestPath(fc))
	if err != nil {
		return nil, err
	}
	if got := sha256Digest(b); got != s.digest {
		os.Remove(s.manifestPath(fc))
		return nil, fmt.Errorf("the fetched manifest of %s is damaged (its digest is %s): it was removed, fetch the source again", s.digest, got)
	}
	return parseManifest(b)
}

func parseManifest(b []byte) (*dockerManifest, error) {
	var m dockerManifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("the registry did not return a valid manifest: %w", err)
	}
	switch m.SchemaVersion {
	case 2:
	case 0:
		return nil, errors.New("the manifest has no schemaVersion")
	default:
		return nil, fmt.Errorf("manifests of schema version %d are not supported", m.SchemaVersion)
	}
	if !m.isList() {
		for _, l := range m.Layers {
			if !layerMediaTypes[l.MediaType] {
				return nil, fmt.Errorf("unsupported layer type %q", l.MediaType)
			}
			if !strings.HasPrefix(l.Digest, "sha256:") || len(l.Digest) != len("sha256:")+64 {
				return nil, fmt.Errorf("unsupported layer digest %q", l.Digest)
			}
		}
	}
	return &m, nil
}

func sha256Digest(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (s *dockerSource) IsCached(fc *source.FetchContext) bool {
	if s.digest == "" {
		return false
	}
	m, err := s.loadManifest(fc)
	if err != nil || m.isList() {
		return false
	}
	for _, l := range m.Layers {
		st, err := os.Stat(s.blobPath(fc, l.Digest))
		if err != nil || !st.Mode().IsRegular() || l.Size > 0 && st.Size() != l.Size {
			return false
		}
	}
	return true
}

// registries returns the registry clients to try, in order, with the
// image's path on each.
func (s *dockerSource) registries(fc *source.FetchContext) ([]*registryClient, error) {
	urls, err := fc.URLs(s.written, s.translated)
	if err != nil {
		return nil, err
	}
	var out []*registryClient
	for _, u := range urls {
		c := &registryClient{fc: fc, base: strings.TrimRight(u, "/"), image: s.image}
		if s.urlForm {
			p, err := url.Parse(u)
			if err != nil || p.Host == "" {
				return nil, fc.Errorf("docker source: invalid url %s", source.Redact(u))
			}
			c.image = strings.Trim(p.Path, "/")
			p.Path, p.RawPath, p.RawQuery, p.Fragment = "", "", "", ""
			c.base = p.String()
		}
		out = append(out, c)
	}
	return out, nil
}

// eachRegistry runs fn with each registry in turn until one succeeds.
func (s *dockerSource) eachRegistry(ctx context.Context, fc *source.FetchContext, fn func(c *registryClient) error) error {
	regs, err := s.registries(fc)
	if err != nil {
		return err
	}
	var errs []string
	for _, c := range regs {
		err := fn(c)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		errs = append(errs, err.Error())
	}
	return fc.Errorf("docker source: %s", strings.Join(errs, "; "))
}

func (s *dockerSource) Fetch(ctx context.Context, fc *source.FetchContext) error {
	if s.digest == "" {
		return fc.Errorf("docker source: no ref to fetch")
	}
	if s.IsCached(fc) {
		return nil
	}
	unlock := fc.Lock(s.manifestPath(fc))
	defer unlock()
	return s.eachRegistry(ctx, fc, func(c *registryClient) error {
		m, err := s.loadManifest(fc)
		if err != nil {
			fc.Status("Fetching image %s with digest %s from %s", s.image, s.digest, source.Redact(c.base))
			body, digest, err := c.manifest(ctx, s.digest)
			if err != nil {
				return err
			}
			if digest != s.digest {
				return fmt.Errorf("asked for the manifest %s, got one with digest %s", s.digest, digest)
			}
			if m, err = parseManifest(body); err != nil {
				return err
			}
			if m.isList() {
				return fmt.Errorf("%s is a manifest list, not an image: its ref must be the digest of one platform's manifest (bst source track finds it)", s.digest)
			}
			if err := source.WriteFileAtomic(s.manifestPath(fc), body, false); err != nil {
				return err
			}
		}
		for _, l := range m.Layers {
			p := s.blobPath(fc, l.Digest)
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && (l.Size <= 0 || st.Size() == l.Size) {
				continue
			}
			fc.Status("Fetching layer %s", l.Digest)
			if err := c.blob(ctx, l.Digest, p); err != nil {
				return err
			}
		}
		return nil
	})
}

// Track returns the digest of the manifest `track` names, for this
// source's architecture and OS; nothing without `track`.
func (s *dockerSource) Track(ctx context.Context, fc *source.FetchContext) (*source.RefUpdate, error) {
	if s.tag == "" {
		return nil, nil
	}
	var ref string
	err := s.eachRegistry(ctx, fc, func(c *registryClient) error {
		fc.Status("Fetching image manifest for image: '%s:%s' from: %s", s.image, s.tag, source.Redact(c.base))
		body, digest, err := c.manifest(ctx, s.tag)
		if err != nil {
			return err
		}
		for range 2 {
			m, err := parseManifest(body)
			if err != nil {
				return err
			}
			if !m.isList() {
				ref = strings.TrimPrefix(digest, "sha256:")
				return nil
			}
			found := ""
			for _, sub := range m.Manifests {
				if sub.Platform.Architecture == s.arch && sub.Platform.OS == s.os {
					found = sub.Digest
					break
				}
			}
			if found == "" {
				return fmt.Errorf("no image of %s:%s for architecture %s, OS %s", s.image, s.tag, s.arch, s.os)
			}
			if body, digest, err = c.manifest(ctx, found); err != nil {
				return err
			}
			if digest != found {
				return fmt.Errorf("asked for the manifest %s, got one with digest %s", found, digest)
			}
		}
		return errors.New("a manifest list names another manifest list")
	})
	if err != nil {
		return nil, err
	}
	return &source.RefUpdate{Set: []source.RefField{{Key: "ref", Value: node.NewScalar(node.Synthetic, ref)}}}, nil
}

// StageFetched applies the layers in order and stores the result.
func (s *dockerSource) StageFetched(ctx context.Context, fc *source.FetchContext) (cas.Digest, error) {
	m, err := s.loadManifest(fc)
	if err != nil {
		return cas.Digest{}, fc.Errorf("docker source: unable to load the manifest: %v", err)
	}
	var size int64
	for _, l := range m.Layers {
		size += l.Size
	}
	d, err := fc.ExtractAndCapture(ctx, "docker-", size, func(tmp string) (string, error) {
		merged := filepath.Join(tmp, "image")
		if err := os.Mkdir(merged, 0o755); err != nil {
			return "", err
		}
		root, err := os.OpenRoot(merged)
		if err != nil {
			return "", err
		}
		defer root.Close()
		for k, l := range m.Layers {
			layer := filepath.Join(tmp, fmt.Sprintf("layer%d", k))
			if err := os.Mkdir(layer, 0o755); err != nil {
				return "", err
			}
			err := source.VerifyDownload(s.blobPath(fc, l.Digest), strings.TrimPrefix(l.Digest, "sha256:"), func(r io.Reader) error {
				_, err := source.ExtractTar(ctx, r, layer, source.ExtractOptions{Warn: func(msg string) { fc.Warn("", "%s", msg) }})
				if errors.Is(err, source.ErrEmptyArchive) {
					return nil // a layer that changes nothing
				}
				return err
			})
			if err != nil {
				return "", fmt.Errorf("layer %s: %w", l.Digest, err)
			}
			if err := applyLayer(root, merged, layer); err != nil {
				return "", fmt.Errorf("layer %s: %w", l.Digest, err)
			}
			os.RemoveAll(layer)
		}
		return merged, nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return cas.Digest{}, ctx.Err()
		}
		return cas.Digest{}, fc.Errorf("docker source: error staging source: %v", err)
	}
	return d, nil
}

const (
	whiteoutPrefix = ".wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// applyLayer applies the extracted layer at dir onto merged (opened as
// root): whiteouts first, then its files, moved over what is there.
// Every path in merged is reached through root, so that a symbolic link
// left by a lower layer never leads outside it; files are moved only
// under directories this walk made sure are real ones.
func applyLayer(root *os.Root, merged, dir string) error {
	// Nothing under /dev is staged.
	if ents, err := os.ReadDir(filepath.Join(dir, "dev")); err == nil {
		for _, e := range ents {
			if err := os.RemoveAll(filepath.Join(dir, "dev", e.Name())); err != nil {
				return err
			}
		}
	}
	var whiteouts []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && strings.HasPrefix(d.Name(), whiteoutPrefix) {
			whiteouts = append(whiteouts, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, p := range whiteouts {
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		parent, name := filepath.Dir(rel), filepath.Base(rel)
		if name == whiteoutOpaque {
			if err := emptyDir(root, parent); err != nil {
				return fmt.Errorf("opaque whiteout %s: %w", rel, err)
			}
		} else if target := filepath.Join(parent, strings.TrimPrefix(name, whiteoutPrefix)); target != parent {
			if err := root.RemoveAll(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("whiteout %s: %w", rel, err)
			}
		}
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		st, statErr := root.Lstat(rel)
		if d.IsDir() {
			if statErr == nil && st.IsDir() {
				return nil
			}
			if statErr == nil {
				if err := root.Remove(rel); err != nil {
					return err
				}
			}
			return root.Mkdir(rel, 0o755)
		}
		if statErr == nil {
			if err := root.RemoveAll(rel); err != nil {
				return err
			}
		}
		return os.Rename(p, filepath.Join(merged, rel))
	})
}

// emptyDir removes what the directory rel of root holds, if it exists.
func emptyDir(root *os.Root, rel string) error {
	st, err := root.Lstat(rel)
	if errors.Is(err, fs.ErrNotExist) || err == nil && !st.IsDir() {
		return nil
	}
	if err != nil {
		return err
	}
	f, err := root.Open(rel)
	if err != nil {
		return err
	}
	names, err := f.Readdirnames(-1)
	f.Close()
	if err != nil {
		return err
	}
	for _, n := range names {
		if err := root.RemoveAll(filepath.Join(rel, n)); err != nil {
			return err
		}
	}
	return nil
}

// registryClient talks to one registry about one image.
type registryClient struct {
	fc    *source.FetchContext
	base  string // scheme://host[:port][/prefix]
	image string
	token string
}

// get asks for <base>/v2/<image>/<sub>, answering a Bearer challenge
// once. The caller closes the body of a 200 answer.
func (c *registryClient) get(ctx context.Context, sub, accept string) (*http.Response, error) {
	u := c.base + "/v2/" + c.image + "/" + sub
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, fmt.Errorf("invalid registry URL %s", source.Redact(u))
		}
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		req.Header.Set("User-Agent", "BuildStream/2")
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := c.fc.HTTPClient().Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, &source.TemporaryError{Err: fmt.Errorf("%s: %v", source.Redact(u), err)}
		}
		switch {
		case resp.StatusCode == http.StatusOK:
			return resp, nil
		case resp.StatusCode == http.StatusUnauthorized && attempt == 0:
			challenge := resp.Header.Get("Www-Authenticate")
			resp.Body.Close()
			if err := c.authorize(ctx, challenge); err != nil {
				return nil, fmt.Errorf("%s: %w", source.Redact(u), err)
			}
			continue
		case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests:
			resp.Body.Close()
			return nil, &source.TemporaryError{Err: fmt.Errorf("%s: HTTP %s", source.Redact(u), resp.Status)}
		default:
			resp.Body.Close()
			return nil, fmt.Errorf("%s: HTTP %s", source.Redact(u), resp.Status)
		}
	}
}

// authorize gets an anonymous token from a Bearer challenge's realm.
func (c *registryClient) authorize(ctx context.Context, challenge string) error {
	params, ok := parseBearerChallenge(challenge)
	if !ok || params["realm"] == "" {
		return fmt.Errorf("unexpected Www-Authenticate answer %q", challenge)
	}
	q := url.Values{}
	for _, k := range []string{"service", "scope"} {
		if v, ok := params[k]; ok {
			q.Set(k, v)
		}
	}
	realm := params["realm"]
	if len(q) > 0 {
		sep := "?"
		if strings.Contains(realm, "?") {
			sep = "&"
		}
		realm += sep + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, realm, nil)
	if err != nil {
		return fmt.Errorf("invalid token realm %q", params["realm"])
	}
	resp, err := c.fc.HTTPClient().Do(req)
	if err != nil {
		return &source.TemporaryError{Err: fmt.Errorf("asking %s for a token: %v", source.Redact(params["realm"]), err)}
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("asking %s for a token: HTTP %s", source.Redact(params["realm"]), resp.Status)
	}
	var tok struct {
		Token       string `json:"token"`
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&tok); err != nil {
		return fmt.Errorf("asking %s for a token: %w", source.Redact(params["realm"]), err)
	}
	c.token = tok.Token
	if c.token == "" {
		c.token = tok.AccessToken
	}
	if c.token == "" {
		return fmt.Errorf("asking %s for a token: the answer holds none", source.Redact(params["realm"]))
	}
	return nil
}

// parseBearerChallenge reads `Bearer k="v",k2="v2"`.
func parseBearerChallenge(s string) (map[string]string, bool) {
	rest, ok := strings.CutPrefix(s, "Bearer ")
	if !ok {
		return nil, false
	}
	out := map[string]string{}
	for rest = strings.TrimSpace(rest); rest != ""; {
		k, after, ok := strings.Cut(rest, "=")
		if !ok {
			return nil, false
		}
		k = strings.TrimSpace(k)
		var v string
		if strings.HasPrefix(after, `"`) {
			end := strings.Index(after[1:], `"`)
			if end < 0 {
				return nil, false
			}
			v, rest = after[1:1+end], after[2+end:]
		} else {
			v, rest, _ = strings.Cut(after, ",")
			rest = "," + rest
		}
		out[k] = v
		rest = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ","))
	}
	return out, true
}

// manifest fetches the manifest named by ref (a tag or a digest) and
// returns it with its digest, checked against the registry's
// Docker-Content-Digest when there is one.
func (c *registryClient) manifest(ctx context.Context, ref string) ([]byte, string, error) {
	var body []byte
	var digest string
	err := c.fc.Retry(ctx, "fetching the manifest "+ref, func() error {
		resp, err := c.get(ctx, "manifests/"+url.PathEscape(ref), strings.Join([]string{mediaDockerManifest, mediaDockerList, mediaOCIManifest, mediaOCIIndex}, ","))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
		if err != nil {
			return &source.TemporaryError{Err: fmt.Errorf("reading the manifest %s: %v", ref, err)}
		}
		digest = sha256Digest(b)
		if theirs := resp.Header.Get("Docker-Content-Digest"); theirs != "" && theirs != digest {
			return fmt.Errorf("the registry's digest of the manifest %s is %s, its content's is %s", ref, theirs, digest)
		}
		body = b
		return nil
	})
	return body, digest, err
}

// blob downloads the blob digest to p, through a temporary file renamed
// into place once its content has the digest.
func (c *registryClient) blob(ctx context.Context, digest, p string) error {
	return c.fc.Retry(ctx, "fetching the layer "+digest, func() error {
		resp, err := c.get(ctx, "blobs/"+url.PathEscape(digest), "")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		f, err := os.CreateTemp(filepath.Dir(p), ".download-")
		if err != nil {
			return err
		}
		defer os.Remove(f.Name())
		h := sha256.New()
		_, err = io.Copy(io.MultiWriter(f, h), resp.Body)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return &source.TemporaryError{Err: fmt.Errorf("downloading the layer %s: %v", digest, err)}
		}
		if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != digest {
			return fmt.Errorf("the layer %s downloaded has the digest %s", digest, got)
		}
		return os.Rename(f.Name(), p)
	})
}
