package tests

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/rogpeppe/go-internal/testscript"
	"github.com/ulikunitz/xz"

	"github.com/bstgo/bst/source"
)

// sourceScriptCommands are the testscript commands of the source_*.txtar
// scripts:
//
//	httpserve [-latency DUR] DIR   serve DIR over HTTP until the script ends;
//	                               sets $HTTPURL and counts requests in
//	                               $WORK/.http-requests
//	archive FORMAT OUT DIR          write DIR as OUT: tar, tar.gz, tar.bz2 (no:
//	                               see below), tar.xz, tar.zst, tar.lz or zip
//	evilarchive KIND OUT            write a malicious tar: dotdot, absolute,
//	                               symlink, hardlink, device, setuid
//	sha256 FILE VAR                 set $VAR to the hex SHA-256 of FILE
//	envsubst FILE...                expand $VARs in FILEs
//	requests N                      the server has had N requests so far
//	registryserve IMAGE TAG DIR...  serve a container image (registry_cmds_test.go)
//
// The HTTP server answers /truncated/NAME with half of NAME and a
// Content-Length promising all of it, /auth/NAME only with the basic
// credentials alice:s3cret, and anything missing with a 404.
func sourceScriptCommands() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"httpserve":     cmdHTTPServe,
		"archive":       cmdArchive,
		"evilarchive":   cmdEvilArchive,
		"sha256":        cmdSHA256,
		"envsubst":      cmdEnvsubst,
		"requests":      cmdRequests,
		"registryserve": cmdRegistryServe,
	}
}

func cmdHTTPServe(ts *testscript.TestScript, neg bool, args []string) {
	var latency time.Duration
	if len(args) >= 2 && args[0] == "-latency" {
		d, err := time.ParseDuration(args[1])
		ts.Check(err)
		latency, args = d, args[2:]
	}
	if len(args) != 1 {
		ts.Fatalf("usage: httpserve [-latency DUR] DIR")
	}
	root := ts.MkAbs(args[0])
	var count atomic.Int64
	countFile := ts.MkAbs(".http-requests")
	files := http.FileServer(http.Dir(root))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := count.Add(1)
		os.WriteFile(countFile, []byte(strconv.FormatInt(n, 10)), 0o644)
		time.Sleep(latency)
		switch {
		case strings.HasPrefix(r.URL.Path, "/truncated/"):
			data, err := os.ReadFile(filepath.Join(root, strings.TrimPrefix(r.URL.Path, "/truncated/")))
			if err != nil {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Length", strconv.Itoa(len(data)))
			w.Write(data[:len(data)/2])
			w.(http.Flusher).Flush()
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.Close()
			}
			return
		case strings.HasPrefix(r.URL.Path, "/auth/"):
			if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "s3cret" {
				w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
				http.Error(w, "authentication required", http.StatusUnauthorized)
				return
			}
			r.URL.Path = strings.TrimPrefix(r.URL.Path, "/auth")
		}
		files.ServeHTTP(w, r)
	})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	ts.Check(err)
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	ts.Defer(func() { srv.Close() })
	ts.Setenv("HTTPURL", "http://"+l.Addr().String())
	ts.Setenv("HTTPHOST", "127.0.0.1")
}

func cmdRequests(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: requests N")
	}
	data, _ := os.ReadFile(ts.MkAbs(".http-requests"))
	got := strings.TrimSpace(string(data))
	if got == "" {
		got = "0"
	}
	if (got == args[0]) == neg {
		ts.Fatalf("the server had %s requests, want %s%s", got, map[bool]string{true: "not ", false: ""}[neg], args[0])
	}
}

// tarDir writes dir as a tar stream, entries sorted, modes kept.
func tarDir(ts *testscript.TestScript, dir string, w io.Writer) {
	tw := tar.NewWriter(w)
	base := filepath.Dir(dir)
	var paths []string
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		ts.Check(err)
		paths = append(paths, p)
		return nil
	})
	sort.Strings(paths)
	for _, p := range paths {
		info, err := os.Lstat(p)
		ts.Check(err)
		link := ""
		if info.Mode()&os.ModeSymlink != 0 {
			link, _ = os.Readlink(p)
		}
		h, err := tar.FileInfoHeader(info, link)
		ts.Check(err)
		rel, _ := filepath.Rel(base, p)
		h.Name = filepath.ToSlash(rel)
		if info.IsDir() {
			h.Name += "/"
		}
		h.ModTime = time.Unix(1321009871, 0)
		ts.Check(tw.WriteHeader(h))
		if info.Mode().IsRegular() {
			data, err := os.ReadFile(p)
			ts.Check(err)
			tw.Write(data)
		}
	}
	ts.Check(tw.Close())
}

func cmdArchive(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 3 {
		ts.Fatalf("usage: archive FORMAT OUT DIR")
	}
	format, out, dir := args[0], ts.MkAbs(args[1]), ts.MkAbs(args[2])
	var buf bytes.Buffer
	if format == "zip" {
		zw := zip.NewWriter(&buf)
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			rel, _ := filepath.Rel(filepath.Dir(dir), p)
			if d.IsDir() {
				zw.Create(filepath.ToSlash(rel) + "/")
				return nil
			}
			w, _ := zw.Create(filepath.ToSlash(rel))
			data, _ := os.ReadFile(p)
			w.Write(data)
			return nil
		})
		ts.Check(zw.Close())
		ts.Check(os.WriteFile(out, buf.Bytes(), 0o644))
		return
	}
	var plain bytes.Buffer
	tarDir(ts, dir, &plain)
	switch format {
	case "tar":
		buf = plain
	case "tar.gz":
		zw := gzip.NewWriter(&buf)
		zw.Write(plain.Bytes())
		zw.Close()
	case "tar.xz":
		zw, err := xz.NewWriter(&buf)
		ts.Check(err)
		zw.Write(plain.Bytes())
		zw.Close()
	case "tar.zst":
		zw, err := zstd.NewWriter(&buf)
		ts.Check(err)
		zw.Write(plain.Bytes())
		zw.Close()
	case "tar.lz":
		ts.Check(source.WriteLzip(&buf, plain.Bytes()))
	default:
		ts.Fatalf("unknown archive format %q", format)
	}
	ts.Check(os.WriteFile(out, buf.Bytes(), 0o644))
}

func cmdEvilArchive(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: evilarchive KIND OUT")
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	file := func(name, body string, mode int64) {
		tw.WriteHeader(&tar.Header{Name: name, Mode: mode, Size: int64(len(body)), Typeflag: tar.TypeReg})
		tw.Write([]byte(body))
	}
	tw.WriteHeader(&tar.Header{Name: "pkg/", Mode: 0o755, Typeflag: tar.TypeDir})
	file("pkg/ok.txt", "fine\n", 0o644)
	switch args[0] {
	case "dotdot":
		file("pkg/../../../escaped.txt", "evil\n", 0o644)
	case "absolute":
		file("/tmp/escaped.txt", "evil\n", 0o644)
	case "symlink":
		tw.WriteHeader(&tar.Header{Name: "pkg/passwd", Typeflag: tar.TypeSymlink, Linkname: "../../../../etc/passwd", Mode: 0o777})
	case "hardlink":
		tw.WriteHeader(&tar.Header{Name: "pkg/shadow", Typeflag: tar.TypeLink, Linkname: "../../etc/shadow"})
	case "device":
		tw.WriteHeader(&tar.Header{Name: "pkg/sda", Typeflag: tar.TypeBlock, Devmajor: 8, Mode: 0o660})
		tw.WriteHeader(&tar.Header{Name: "pkg/fifo", Typeflag: tar.TypeFifo, Mode: 0o644})
	case "setuid":
		file("pkg/su", "#!/bin/sh\n", 0o4755)
	default:
		ts.Fatalf("unknown evil archive %q", args[0])
	}
	tw.Close()
	zw.Close()
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), buf.Bytes(), 0o644))
}

func cmdSHA256(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: sha256 FILE VAR")
	}
	data, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	sum := sha256.Sum256(data)
	ts.Setenv(args[1], hex.EncodeToString(sum[:]))
}

func cmdEnvsubst(ts *testscript.TestScript, neg bool, args []string) {
	for _, f := range args {
		p := ts.MkAbs(f)
		data, err := os.ReadFile(p)
		ts.Check(err)
		ts.Check(os.WriteFile(p, []byte(os.Expand(string(data), ts.Getenv)), 0o644))
	}
}
