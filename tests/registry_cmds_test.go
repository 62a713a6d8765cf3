package tests

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/rogpeppe/go-internal/testscript"
)

// cmdRegistryServe is the testscript command
//
//	registryserve IMAGE TAG LAYERDIR...
//
// which serves, until the script ends, a container registry on loopback
// speaking the Docker Registry HTTP API v2 with one image: one gzipped
// tar layer per LAYERDIR, in order, its files as they are in the
// directory (whiteouts are files named .wh.NAME and .wh..wh..opq). TAG
// names a manifest list with that image for this machine's architecture
// and another for a different one. Every request needs a Bearer token,
// which /token gives after the registry's 401 challenge. It sets
// $REGISTRY (the registry's URL), $IMAGEREF (the hex digest of the
// image's manifest), $LISTREF (the manifest list's) and counts requests
// in $WORK/.registry-requests.
func cmdRegistryServe(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 3 {
		ts.Fatalf("usage: registryserve IMAGE TAG LAYERDIR...")
	}
	image, tag := args[0], args[1]
	blobs := map[string][]byte{}
	manifests := map[string][]byte{}
	type descriptor struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
		Size      int    `json:"size"`
	}
	digestOf := func(b []byte) string {
		sum := sha256.Sum256(b)
		return "sha256:" + hex.EncodeToString(sum[:])
	}
	var layers []descriptor
	for _, dir := range args[2:] {
		b := layerTarGz(ts, ts.MkAbs(dir))
		d := digestOf(b)
		blobs[d] = b
		layers = append(layers, descriptor{"application/vnd.docker.image.rootfs.diff.tar.gzip", d, len(b)})
	}
	config := []byte(`{"architecture":"` + runtime.GOARCH + `","os":"linux"}`)
	blobs[digestOf(config)] = config
	manifest := func(layers []descriptor) []byte {
		b, err := json.MarshalIndent(map[string]any{
			"schemaVersion": 2,
			"mediaType":     "application/vnd.docker.distribution.manifest.v2+json",
			"config":        descriptor{"application/vnd.docker.container.image.v1+json", digestOf(config), len(config)},
			"layers":        layers,
		}, "", "   ")
		ts.Check(err)
		return b
	}
	ours := manifest(layers)
	other := manifest(layers[:1])
	manifests[digestOf(ours)] = ours
	manifests[digestOf(other)] = other
	otherArch := "s390x"
	if runtime.GOARCH == otherArch {
		otherArch = "amd64"
	}
	platform := func(m []byte, arch string) map[string]any {
		return map[string]any{"mediaType": "application/vnd.docker.distribution.manifest.v2+json",
			"digest": digestOf(m), "size": len(m), "platform": map[string]string{"architecture": arch, "os": "linux"}}
	}
	list, err := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     "application/vnd.docker.distribution.manifest.list.v2+json",
		"manifests":     []any{platform(other, otherArch), platform(ours, runtime.GOARCH)},
	})
	ts.Check(err)
	manifests[digestOf(list)] = list
	manifests[tag] = list

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	base := "http://" + ln.Addr().String()
	const token = "t0ken"
	countFile := ts.MkAbs(".registry-requests")
	var count atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/token", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("scope") != "repository:"+image+":pull" || r.URL.Query().Get("service") != "test-registry" {
			http.Error(w, "bad scope", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"token":"` + token + `"}`))
	})
	prefix := "/v2/" + image + "/"
	mux.HandleFunc("/v2/", func(w http.ResponseWriter, r *http.Request) {
		n := count.Add(1)
		os.WriteFile(countFile, []byte(strconv.FormatInt(n, 10)), 0o644)
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.Header().Set("Www-Authenticate", `Bearer realm="`+base+`/token",service="test-registry",scope="repository:`+image+`:pull"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		rest, ok := strings.CutPrefix(r.URL.Path, prefix)
		if !ok {
			http.NotFound(w, r)
			return
		}
		switch kind, ref, _ := strings.Cut(rest, "/"); kind {
		case "manifests":
			m, ok := manifests[ref]
			if !ok {
				http.NotFound(w, r)
				return
			}
			var head struct {
				MediaType string `json:"mediaType"`
			}
			json.Unmarshal(m, &head)
			w.Header().Set("Content-Type", head.MediaType)
			w.Header().Set("Docker-Content-Digest", digestOf(m))
			w.Write(m)
		case "blobs":
			b, ok := blobs[ref]
			if !ok {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(b)
		default:
			http.NotFound(w, r)
		}
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	ts.Defer(func() { srv.Close() })
	ts.Setenv("REGISTRY", base)
	ts.Setenv("IMAGEREF", strings.TrimPrefix(digestOf(ours), "sha256:"))
	ts.Setenv("LISTREF", strings.TrimPrefix(digestOf(list), "sha256:"))
}

// layerTarGz writes dir as a gzipped tar layer, entries in walk order.
func layerTarGz(ts *testscript.TestScript, dir string) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&fs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		hdr, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		hdr.Name = filepath.ToSlash(rel)
		if d.IsDir() {
			hdr.Name += "/"
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			_, err = tw.Write(b)
			return err
		}
		return nil
	})
	ts.Check(err)
	ts.Check(tw.Close())
	ts.Check(zw.Close())
	return buf.Bytes()
}
