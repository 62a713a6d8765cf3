package cas

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	rapb "github.com/bazelbuild/remote-apis/build/bazel/remote/asset/v1"
	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	bspb "google.golang.org/genproto/googleapis/bytestream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"
)

// Remote is a connection to one cache server: its CAS, ByteStream,
// Capabilities and Remote Asset services, as its spec's type allows.
// Calls are retried with exponential backoff on transient errors.
// A Remote is safe for concurrent use.
type Remote struct {
	spec RemoteSpec
	name string // spec.String(), for errors
	conn *grpc.ClientConn

	cas   repb.ContentAddressableStorageClient
	bs    bspb.ByteStreamClient
	caps  repb.CapabilitiesClient
	fetch rapb.FetchClient
	push  rapb.PushClient

	// maxBatch is the most bytes of blobs sent or asked for in one batch
	// request.
	maxBatch int64

	checkOnce sync.Once
	checkErr  error
	pushOnce  sync.Once
	pushErr   error
}

// Transfer limits. gRPC's default message limit is 4 MiB; batches stay
// under what the server announces (or 4 MiB) with room for the envelope,
// and blobs above batchBlobMax go through ByteStream.
const (
	defaultMaxBatch   = 4 << 20
	batchEnvelope     = 64 << 10
	bytestreamChunk   = 1 << 20
	maxDigestsPerCall = 8192
	maxRecvMsg        = 64 << 20
)

// parseRemoteURL turns a remote's URL into a gRPC target and whether it
// uses TLS. BuildStream passes URLs to buildbox-casd, which accepts
// http:// and grpc:// (plain), https:// and grpcs:// (TLS) and unix:PATH
// sockets; the scheme is dropped and gRPC's default port (443) applies
// when none is given.
func parseRemoteURL(raw string) (target string, useTLS bool, err error) {
	if p, ok := strings.CutPrefix(raw, "unix:"); ok {
		p = strings.TrimPrefix(p, "//")
		if p == "" {
			return "", false, fmt.Errorf("invalid remote URL %q: no socket path", raw)
		}
		return "unix:" + p, false, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", false, fmt.Errorf("invalid remote URL %q: %v", raw, err)
	}
	switch u.Scheme {
	case "http", "grpc":
	case "https", "grpcs":
		useTLS = true
	case "":
		return "", false, fmt.Errorf("invalid remote URL %q: it needs a scheme: http://, https://, grpc://, grpcs:// or unix:", raw)
	default:
		return "", false, fmt.Errorf("invalid remote URL %q: unsupported scheme %q: use http://, https://, grpc://, grpcs:// or unix:", raw, u.Scheme)
	}
	if u.Host == "" {
		return "", false, fmt.Errorf("invalid remote URL %q: no host", raw)
	}
	if u.User != nil {
		return "", false, fmt.Errorf("invalid remote URL: credentials in the URL are not supported: use auth: access-token")
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" {
		return "", false, fmt.Errorf("invalid remote URL %q: a remote URL is scheme://host[:port], with no path; use instance-name to select an instance", raw)
	}
	return u.Host, useTLS, nil
}

// DialRemote prepares a connection to the remote of spec. Nothing is sent
// until the first call; Check verifies the remote works.
func DialRemote(spec RemoteSpec) (*Remote, error) {
	target, useTLS, err := parseRemoteURL(spec.URL)
	if err != nil {
		return nil, err
	}
	r := &Remote{spec: spec, name: spec.String(), maxBatch: defaultMaxBatch}
	var creds credentials.TransportCredentials
	if useTLS {
		cfg, err := clientTLSConfig(spec, target)
		if err != nil {
			return nil, &RemoteError{Remote: r.name, Op: "loading credentials", Code: codes.InvalidArgument, Err: err}
		}
		creds = credentials.NewTLS(cfg)
	} else {
		if spec.ClientCert != "" || spec.ServerCert != "" {
			return nil, &RemoteError{Remote: r.name, Op: "loading credentials", Code: codes.InvalidArgument,
				Err: errors.New("certificates need an https:// or grpcs:// URL")}
		}
		creds = insecure.NewCredentials()
	}
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxRecvMsg)),
		grpc.WithUnaryInterceptor(r.retryUnary),
		grpc.WithUserAgent("bst"),
	}
	if spec.KeepaliveTime > 0 {
		opts = append(opts, grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: spec.KeepaliveTime, PermitWithoutStream: true}))
	}
	if spec.AccessToken != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(&tokenCreds{path: spec.AccessToken, reload: spec.AccessTokenReload}))
	}
	conn, err := grpc.NewClient(target, opts...)
	if err != nil {
		return nil, &RemoteError{Remote: r.name, Op: "connecting", Code: codes.InvalidArgument, Err: err}
	}
	r.conn = conn
	r.cas = repb.NewContentAddressableStorageClient(conn)
	r.bs = bspb.NewByteStreamClient(conn)
	r.caps = repb.NewCapabilitiesClient(conn)
	r.fetch = rapb.NewFetchClient(conn)
	r.push = rapb.NewPushClient(conn)
	return r, nil
}

// Spec returns the remote's spec.
func (r *Remote) Spec() RemoteSpec { return r.spec }

// String names the remote.
func (r *Remote) String() string { return r.name }

// Close closes the connection.
func (r *Remote) Close() error { return r.conn.Close() }

// clientTLSConfig loads the spec's certificates.
func clientTLSConfig(spec RemoteSpec, target string) (*tls.Config, error) {
	host, _, err := net.SplitHostPort(target)
	if err != nil {
		host = target
	}
	cfg := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if spec.ServerCert != "" {
		pem, err := os.ReadFile(spec.ServerCert)
		if err != nil {
			return nil, fmt.Errorf("failed to load credentials file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("server-cert %s holds no PEM certificate", spec.ServerCert)
		}
		cfg.RootCAs = pool
	}
	if spec.ClientCert != "" {
		cert, err := tls.LoadX509KeyPair(spec.ClientCert, spec.ClientKey)
		if err != nil {
			// The error of LoadX509KeyPair never quotes the key.
			return nil, fmt.Errorf("loading client-cert %s and client-key %s: %w", spec.ClientCert, spec.ClientKey, err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// tokenCreds sends the access token file's content as a bearer token,
// reading the file again every reload (never, when 0).
type tokenCreds struct {
	path   string
	reload time.Duration

	mu     sync.Mutex
	token  string
	loaded time.Time
}

func (t *tokenCreds) GetRequestMetadata(ctx context.Context, uri ...string) (map[string]string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.loaded.IsZero() || t.reload > 0 && time.Since(t.loaded) >= t.reload {
		data, err := os.ReadFile(t.path)
		if err != nil {
			// Only the path: the error of ReadFile never holds content.
			return nil, status.Errorf(codes.Unauthenticated, "reading the access token: %v", err)
		}
		t.token = strings.TrimSpace(string(data))
		t.loaded = time.Now()
	}
	return map[string]string{"authorization": "Bearer " + t.token}, nil
}

// RequireTransportSecurity is false: BuildStream (through buildbox-casd)
// also sends tokens to http:// remotes, on the user's say.
func (t *tokenCreds) RequireTransportSecurity() bool { return false }

// retryable reports whether a call that failed with err may succeed if
// sent again.
func retryable(err error) bool {
	switch status.Code(err) {
	case codes.Unavailable:
		// A certificate the other side refuses stays refused.
		msg := status.Convert(err).Message()
		return !strings.Contains(msg, "x509: ") && !strings.Contains(msg, "tls: ") &&
			!strings.Contains(msg, "authentication handshake failed")
	case codes.Aborted, codes.ResourceExhausted:
		return true
	case codes.DeadlineExceeded:
		return true // only per-attempt deadlines get here; see withRetry
	}
	return false
}

// withRetry calls fn until it succeeds, fails for good, or the spec's
// retry limit is reached, waiting retry-delay, then twice that and so
// on (with some jitter) between attempts. Each attempt gets the spec's
// request timeout.
func (r *Remote) withRetry(ctx context.Context, fn func(ctx context.Context) error) error {
	delay := r.spec.retryDelay()
	limit := r.spec.retryLimit()
	for attempt := 0; ; attempt++ {
		actx, cancel := ctx, context.CancelFunc(func() {})
		if r.spec.RequestTimeout > 0 {
			actx, cancel = context.WithTimeout(ctx, r.spec.RequestTimeout)
		}
		err := fn(actx)
		cancel()
		if err == nil || attempt >= limit || !retryable(err) || ctx.Err() != nil {
			if ctx.Err() != nil && err != nil {
				return ctx.Err()
			}
			return err
		}
		wait := delay<<attempt + time.Duration(rand.Int64N(int64(delay)/4+1))
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// retryUnary retries every unary call.
func (r *Remote) retryUnary(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
	return r.withRetry(ctx, func(ctx context.Context) error { return invoker(ctx, method, req, reply, cc, opts...) })
}

// Check makes sure, once, that the remote serves what its spec's type
// asks for: a CAS for storage (learning its batch limit from
// Capabilities) and Remote Asset Fetch for an index. It probes as
// BuildStream does, with empty requests a working server refuses as
// INVALID_ARGUMENT.
func (r *Remote) Check(ctx context.Context) error {
	r.checkOnce.Do(func() { r.checkErr = r.check(ctx) })
	return r.checkErr
}

// CheckPush makes sure, once, that the remote accepts pushes from us:
// its Remote Asset Push service (for an index) and its CAS (for storage)
// are probed with empty writes. A remote that may not be pushed to can
// still be pulled from.
func (r *Remote) CheckPush(ctx context.Context) error {
	if err := r.Check(ctx); err != nil {
		return err
	}
	r.pushOnce.Do(func() { r.pushErr = r.checkPush(ctx) })
	return r.pushErr
}

func (r *Remote) check(ctx context.Context) error {
	fail := func(err error) error { return remoteErr(r.name, "connecting", err) }
	if r.spec.Type.HasStorage() {
		caps, err := r.caps.GetCapabilities(ctx, &repb.GetCapabilitiesRequest{InstanceName: r.spec.InstanceName})
		switch {
		case status.Code(err) == codes.Unimplemented:
			// Not every CAS server has Capabilities; keep the defaults.
		case err != nil:
			return fail(err)
		default:
			cc := caps.GetCacheCapabilities()
			if fns := cc.GetDigestFunctions(); len(fns) > 0 && !containsDigestFunction(fns, repb.DigestFunction_SHA256) {
				return fail(errors.New("the server does not support SHA-256 digests"))
			}
			if m := cc.GetMaxBatchTotalSizeBytes(); m > 0 && m < r.maxBatch {
				r.maxBatch = m
			}
		}
	}
	if r.spec.Type.HasIndex() {
		_, err := r.fetch.FetchBlob(ctx, &rapb.FetchBlobRequest{InstanceName: r.spec.InstanceName})
		switch status.Code(err) {
		case codes.InvalidArgument, codes.OK:
		case codes.Unimplemented:
			return fail(errors.New("the remote does not implement the Remote Asset Fetch service; check the remote's type"))
		default:
			return fail(err)
		}
	}
	return nil
}

func (r *Remote) checkPush(ctx context.Context) error {
	fail := func(err error) error { return remoteErr(r.name, "checking the right to push", err) }
	if !r.spec.Push {
		return fail(errors.New("the remote is not configured for pushing (push: false)"))
	}
	if r.spec.Type.HasStorage() {
		_, err := r.cas.BatchUpdateBlobs(ctx, &repb.BatchUpdateBlobsRequest{InstanceName: r.spec.InstanceName})
		if err != nil && status.Code(err) != codes.InvalidArgument {
			return fail(err)
		}
	}
	if r.spec.Type.HasIndex() {
		_, err := r.push.PushBlob(ctx, &rapb.PushBlobRequest{InstanceName: r.spec.InstanceName})
		switch status.Code(err) {
		case codes.InvalidArgument, codes.OK:
		case codes.Unimplemented:
			return fail(errors.New("the remote does not implement the Remote Asset Push service"))
		default:
			return fail(err)
		}
	}
	return nil
}

func containsDigestFunction(fns []repb.DigestFunction_Value, f repb.DigestFunction_Value) bool {
	for _, x := range fns {
		if x == f {
			return true
		}
	}
	return false
}
