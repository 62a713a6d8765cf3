package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// DownloadResult says what Download stored.
type DownloadResult struct {
	// SHA256 is the hex checksum of the file, also its name.
	SHA256 string
	// Path is the stored file.
	Path string
	// NotModified is set when the server answered the ETag with 304,
	// so the cached file for the old checksum is still current.
	NotModified bool
}

// Download fetches the first of urls that works into dir, named by its
// SHA-256, and returns it. When want is not empty the content must have
// that checksum: a mismatch is an error and nothing is kept. The body goes
// to a temporary file that is renamed into place only once complete and
// verified, so an interrupted download leaves nothing behind. etag, when
// not empty, is sent as If-None-Match (tracking a file already cached).
//
// Each URL is tried with fc's retries on temporary errors (connection
// failures, server errors, cut bodies); a permanent error (a 404, a wrong
// checksum) moves on to the next URL. The error of the last URL is
// returned, with every URL's error for context.
func (fc *FetchContext) Download(ctx context.Context, urls []string, dir, want, etag string) (DownloadResult, error) {
	var errs []string
	for _, u := range urls {
		var res DownloadResult
		err := fc.Retry(ctx, "downloading "+Redact(u), func() error {
			var err error
			res, err = fc.downloadOnce(ctx, u, dir, want, etag)
			return err
		})
		if err == nil {
			return res, nil
		}
		if ctx.Err() != nil {
			return DownloadResult{}, ctx.Err()
		}
		errs = append(errs, err.Error())
	}
	if len(errs) == 1 {
		return DownloadResult{}, errors.New(errs[0])
	}
	return DownloadResult{}, fmt.Errorf("every URL failed:\n  %s", strings.Join(errs, "\n  "))
}

// downloadOnce makes one attempt at one URL.
func (fc *FetchContext) downloadOnce(ctx context.Context, rawURL, dir, want, etag string) (DownloadResult, error) {
	shown := Redact(rawURL)
	u, err := url.Parse(rawURL)
	if err != nil {
		return DownloadResult{}, fmt.Errorf("invalid URL %s", shown)
	}
	var body io.ReadCloser
	var length int64 = -1
	var newETag string
	// A transfer that makes no progress for idleTimeout is abandoned
	// (BuildStream's socket timeout is 10 minutes too); it is retried.
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	idle := time.AfterFunc(idleTimeout, cancel)
	defer idle.Stop()
	switch u.Scheme {
	case "http", "https":
		req, err := http.NewRequestWithContext(actx, http.MethodGet, rawURL, nil)
		if err != nil {
			return DownloadResult{}, fmt.Errorf("invalid URL %s", shown)
		}
		req.Header.Set("Accept", "*/*")
		req.Header.Set("User-Agent", "BuildStream/2")
		if u.User == nil {
			if login, password, ok := fc.netrc.Lookup(u.Hostname()); ok {
				req.SetBasicAuth(login, password)
			}
		}
		if etag != "" {
			req.Header.Set("If-None-Match", etag)
		}
		resp, err := fc.http.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return DownloadResult{}, ctx.Err()
			}
			if actx.Err() != nil {
				return DownloadResult{}, &TemporaryError{fmt.Errorf("downloading %s: no answer for %s", shown, idleTimeout)}
			}
			return DownloadResult{}, &TemporaryError{fmt.Errorf("downloading %s: %s", shown, redactErr(err))}
		}
		switch {
		case resp.StatusCode == http.StatusNotModified && etag != "":
			resp.Body.Close()
			return DownloadResult{NotModified: true}, nil
		case resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout:
			resp.Body.Close()
			return DownloadResult{}, &TemporaryError{fmt.Errorf("downloading %s: HTTP %s", shown, resp.Status)}
		case resp.StatusCode != http.StatusOK:
			resp.Body.Close()
			return DownloadResult{}, fmt.Errorf("downloading %s: HTTP %s", shown, resp.Status)
		}
		if etag != "" && resp.Header.Get("ETag") == etag {
			resp.Body.Close()
			return DownloadResult{NotModified: true}, nil
		}
		body, length, newETag = resp.Body, resp.ContentLength, resp.Header.Get("ETag")
	case "file":
		f, err := os.Open(u.Path)
		if err != nil {
			return DownloadResult{}, fmt.Errorf("downloading %s: %w", shown, err)
		}
		body = f
	default:
		return DownloadResult{}, fmt.Errorf("downloading %s: unsupported URL scheme %q", shown, u.Scheme)
	}
	defer body.Close()

	if err := os.MkdirAll(dir, 0o755); err != nil {
		return DownloadResult{}, fmt.Errorf("creating %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, ".download-")
	if err != nil {
		return DownloadResult{}, fmt.Errorf("creating a temporary file in %s: %w", dir, err)
	}
	keep := false
	defer func() {
		if !keep {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(tmp, h), &progressReader{r: body, idle: idle})
	if err != nil {
		if ctx.Err() != nil {
			return DownloadResult{}, ctx.Err()
		}
		if actx.Err() != nil {
			return DownloadResult{}, &TemporaryError{fmt.Errorf("downloading %s: no data for %s after %d bytes", shown, idleTimeout, n)}
		}
		return DownloadResult{}, &TemporaryError{fmt.Errorf("downloading %s: after %d bytes: %s", shown, n, redactErr(err))}
	}
	if length >= 0 && n < length {
		return DownloadResult{}, &TemporaryError{fmt.Errorf("downloading %s: the connection closed after %d of %d bytes", shown, n, length)}
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if want != "" && sum != want {
		return DownloadResult{}, fmt.Errorf("file downloaded from %s has sha256sum '%s', not '%s'", shown, sum, want)
	}
	// Not synced, as BuildStream does not: what was renamed into place
	// after a crash may be short, so staging checks the checksum again
	// (VerifyDownload) and never trusts the name alone.
	if err := tmp.Close(); err != nil {
		return DownloadResult{}, fmt.Errorf("writing the download of %s: %w", shown, err)
	}
	final := filepath.Join(dir, sum)
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return DownloadResult{}, err
	}
	if err := os.Rename(tmp.Name(), final); err != nil {
		return DownloadResult{}, fmt.Errorf("storing the download of %s: %w", shown, err)
	}
	keep = true
	if newETag != "" {
		// The ETag lets a later track skip downloading an unchanged file.
		_ = WriteFileAtomic(filepath.Join(dir, sum+".etag"), []byte(newETag), false)
	}
	return DownloadResult{SHA256: sum, Path: final}, nil
}

// idleTimeout is how long a download may make no progress.
var idleTimeout = 10 * time.Minute

// progressReader pushes the idle deadline back on every read that gets
// data.
type progressReader struct {
	r    io.Reader
	idle *time.Timer
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.idle.Reset(idleTimeout)
	}
	return n, err
}

// redactErr renders an error of the HTTP client without the URL's
// credentials (url.Error quotes the URL).
func redactErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return RedactAll(ue.Err.Error()) // the URL is shown already
	}
	return RedactAll(err.Error())
}

// ReadETag returns the ETag stored with the file named sum in dir.
func ReadETag(dir, sum string) string {
	data, err := os.ReadFile(filepath.Join(dir, sum+".etag"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

// WriteFileAtomic writes data to path (mode 0644) through a temporary
// file and a rename, so that path is never seen half-written, syncing it
// first when sync is set. Refs of the source cache
// are not synced (as BuildStream's are not): one lost in a crash is a
// cache miss, and one that survives names objects the store synced.
func WriteFileAtomic(path string, data []byte, sync bool) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-")
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil && sync {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// VerifyDownload checks that the file at p has the SHA-256 sum, while
// passing its content to use (which may stop reading early; the rest is
// read and hashed after). A file that does not match — cut short by a
// crash, or damaged — is removed, so the next fetch downloads it again.
func VerifyDownload(p, sum string, use func(io.Reader) error) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	tee := io.TeeReader(f, h)
	useErr := use(tee)
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sum {
		os.Remove(p)
		return fmt.Errorf("the downloaded file %s is damaged (its sha256sum is %s): it was removed, fetch the source again", filepath.Base(p), got)
	}
	return useErr
}
