package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func sum(data string) string {
	s := sha256.Sum256([]byte(data))
	return hex.EncodeToString(s[:])
}

// testServer serves body at /file and misbehaves at other paths.
func testServer(t *testing.T, body string, hits *atomic.Int32) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/file", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		w.Write([]byte(body))
	})
	mux.HandleFunc("/truncated", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Length", "1000")
		w.Write([]byte(body[:5]))
		w.(http.Flusher).Flush()
		// Cut the connection in the middle of the body.
		hj, _ := w.(http.Hijacker)
		conn, _, _ := hj.Hijack()
		conn.Close()
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Length", "1000")
		w.Write([]byte(body[:5]))
		w.(http.Flusher).Flush()
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		http.NotFound(w, r)
	})
	var flaky atomic.Int32
	mux.HandleFunc("/flaky", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if flaky.Add(1) == 1 {
			http.Error(w, "try again", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte(body))
	})
	mux.HandleFunc("/private", func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "s3cret" {
			w.Header().Set("WWW-Authenticate", `Basic realm="x"`)
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		w.Write([]byte(body))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func onlyFinalFiles(t *testing.T, dir string, want ...string) {
	t.Helper()
	got := listFiles(t, dir)
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("files in %s: %v, want %v", dir, got, want)
	}
}

func TestDownload(t *testing.T) {
	const body = "hello, tarball"
	var hits atomic.Int32
	srv := testServer(t, body, &hits)
	env := newTestEnv(t, Options{Retries: 2})
	fc := env.Context("p", "e.bst", nodeProv(), false)
	dir := filepath.Join(env.SourceDir, "remote", "x")
	ctx := context.Background()

	res, err := fc.Download(ctx, []string{srv.URL + "/file"}, dir, sum(body), "")
	if err != nil {
		t.Fatal(err)
	}
	if res.SHA256 != sum(body) || res.Path != filepath.Join(dir, sum(body)) {
		t.Fatalf("result %+v", res)
	}
	onlyFinalFiles(t, dir, sum(body), sum(body)+".etag")

	// With the ETag, an unchanged file is not downloaded again.
	res, err = fc.Download(ctx, []string{srv.URL + "/file"}, dir, "", ReadETag(dir, sum(body)))
	if err != nil || !res.NotModified {
		t.Fatalf("etag: %+v %v", res, err)
	}
}

func TestDownloadFailuresKeepNothing(t *testing.T) {
	const body = "hello, tarball"
	ctx := context.Background()
	for _, c := range []struct {
		name, path, want string
		hits             int32
	}{
		{"404", "/missing", "404", 1},
		{"wrong checksum", "/file", "has sha256sum", 1},
		{"truncated", "/truncated", "after 5 bytes", 3},
	} {
		t.Run(c.name, func(t *testing.T) {
			var hits atomic.Int32
			srv := testServer(t, body, &hits)
			env := newTestEnv(t, Options{Retries: 2})
			fc := env.Context("p", "e.bst", nodeProv(), false)
			dir := filepath.Join(env.SourceDir, "tar", "x")
			want := strings.Repeat("0", 64)
			_, err := fc.Download(ctx, []string{srv.URL + c.path}, dir, want, "")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want %q", err, c.want)
			}
			if hits.Load() != c.hits {
				t.Errorf("%d requests, want %d (retries only for temporary errors)", hits.Load(), c.hits)
			}
			onlyFinalFiles(t, dir)
		})
	}
}

func TestDownloadSlowIsCancelled(t *testing.T) {
	var hits atomic.Int32
	srv := testServer(t, "hello, tarball", &hits)
	env := newTestEnv(t, Options{})
	fc := env.Context("p", "e.bst", nodeProv(), false)
	dir := filepath.Join(env.SourceDir, "tar", "x")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := fc.Download(ctx, []string{srv.URL + "/slow"}, dir, "", "")
	if err == nil || time.Since(start) > 3*time.Second {
		t.Fatalf("slow download: %v after %s", err, time.Since(start))
	}
	onlyFinalFiles(t, dir)
}

func TestDownloadRetriesAndMirrors(t *testing.T) {
	const body = "hello, tarball"
	var hits atomic.Int32
	srv := testServer(t, body, &hits)
	env := newTestEnv(t, Options{Retries: 1})
	fc := env.Context("p", "e.bst", nodeProv(), false)
	dir := filepath.Join(env.SourceDir, "tar", "x")
	ctx := context.Background()
	// A 503 is retried.
	if _, err := fc.Download(ctx, []string{srv.URL + "/flaky"}, dir, sum(body), ""); err != nil {
		t.Fatal(err)
	}
	if hits.Load() != 2 {
		t.Errorf("%d requests, want 2 (one retry)", hits.Load())
	}
	// A mirror that fails hands over to the next URL.
	os.RemoveAll(dir)
	if _, err := fc.Download(ctx, []string{srv.URL + "/missing", srv.URL + "/file"}, dir, sum(body), ""); err != nil {
		t.Fatal(err)
	}
	// Every URL failing reports each.
	_, err := fc.Download(ctx, []string{srv.URL + "/missing", srv.URL + "/gone"}, dir, sum(body), "")
	if err == nil || !strings.Contains(err.Error(), "/missing") || !strings.Contains(err.Error(), "/gone") {
		t.Fatalf("error %v", err)
	}
}

func TestDownloadCredentials(t *testing.T) {
	const body = "secret tarball"
	var hits atomic.Int32
	srv := testServer(t, body, &hits)
	ctx := context.Background()
	// Without credentials: refused, and the password appears nowhere.
	env := newTestEnv(t, Options{})
	fc := env.Context("p", "e.bst", nodeProv(), false)
	dir := filepath.Join(env.SourceDir, "remote", "x")
	withPassword := strings.Replace(srv.URL, "http://", "http://mallory:hunter2@", 1) + "/private"
	_, err := fc.Download(ctx, []string{withPassword}, dir, "", "")
	if err == nil || !strings.Contains(err.Error(), "401") || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("error %v", err)
	}
	// .netrc credentials for the host are sent.
	host, _, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	n, _ := ParseNetrc("machine " + host + " login alice password s3cret\n")
	env = newTestEnv(t, Options{Netrc: n})
	fc = env.Context("p", "e.bst", nodeProv(), false)
	if _, err := fc.Download(ctx, []string{srv.URL + "/private"}, dir, sum(body), ""); err != nil {
		t.Fatal(err)
	}
}

// A server that stops sending is abandoned after the idle timeout, and the
// attempt retried.
func TestDownloadIdleTimeout(t *testing.T) {
	old := idleTimeout
	idleTimeout = 100 * time.Millisecond
	defer func() { idleTimeout = old }()
	var hits atomic.Int32
	srv := testServer(t, "hello, tarball", &hits)
	env := newTestEnv(t, Options{Retries: 1})
	fc := env.Context("p", "e.bst", nodeProv(), false)
	dir := filepath.Join(env.SourceDir, "tar", "x")
	start := time.Now()
	_, err := fc.Download(context.Background(), []string{srv.URL + "/slow"}, dir, "", "")
	if err == nil || !strings.Contains(err.Error(), "no data for 100ms after 5 bytes") || time.Since(start) > 3*time.Second {
		t.Fatalf("stalled download: %v after %s", err, time.Since(start))
	}
	if hits.Load() != 2 {
		t.Errorf("%d requests, want 2 (a retry)", hits.Load())
	}
	onlyFinalFiles(t, dir)
}
