package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/cas/server"
)

type serverFlags struct {
	listen       []string
	cacheDir     string
	quota        string
	lowWatermark string
	tlsCert      string
	tlsKey       string
	clientCA     string
	tokens       string
	anonymous    string
	metrics      string
}

func newServerCommand(a *app) *cobra.Command {
	sf := &serverFlags{}
	c := &cobra.Command{
		Use:   "server",
		Short: "Run a remote cache server",
		Long: `Run a cache server for bst, BuildStream 2 and any REAPI client (Bazel's
--remote_cache, say): the REAPI CAS, ByteStream, Capabilities and ActionCache
services, Remote Asset Fetch and Push (BuildStream's artifact and source
caches) and gRPC health checks, over one cache directory.

Every upload is checked against its digest, and so is every read. With
--quota, the least recently used blobs are removed when the cache holds more;
action results and assets whose content has expired are no longer answered.

--listen takes HOST:PORT or unix:PATH and may be repeated. Without --tls-cert
the server speaks plain gRPC (clients use http:// or grpc:// URLs); with it,
TLS (https:// or grpcs://), and with --client-ca clients must present a
certificate that CA signed.

--tokens names a file of access tokens, one per line, "read TOKEN" or
"push TOKEN" (or "push sha256:HEX" with the token's SHA-256): clients send
them as BuildStream's auth: access-token does. Without a token, callers get
--anonymous: none by default when there are tokens, push otherwise.

--metrics ADDR serves Prometheus metrics on /metrics and a health check on
/healthz over HTTP.`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, args []string) error { return runServer(c.Context(), a, sf) },
	}
	f := c.Flags()
	f.StringArrayVar(&sf.listen, "listen", nil, "address to serve on: HOST:PORT or unix:PATH (repeatable; default localhost:11001)")
	f.StringVar(&sf.cacheDir, "cache-dir", "", "cache directory (default: $XDG_CACHE_HOME/bst-server)")
	f.StringVar(&sf.quota, "quota", "infinity", "most the cache may hold: bytes with an optional K, M, G or T suffix, a percentage of the disk, or infinity")
	f.StringVar(&sf.lowWatermark, "low-watermark", "90%", "when over the quota, expire down to this share of it")
	f.StringVar(&sf.tlsCert, "tls-cert", "", "PEM certificate (chain) of the server: serve TLS")
	f.StringVar(&sf.tlsKey, "tls-key", "", "PEM private key of --tls-cert")
	f.StringVar(&sf.clientCA, "client-ca", "", "PEM CA certificates: require client certificates they signed")
	f.StringVar(&sf.tokens, "tokens", "", "file of access tokens and their rights (read or push)")
	f.StringVar(&sf.anonymous, "anonymous", "", "what callers without a token may do: none, read or push")
	f.StringVar(&sf.metrics, "metrics", "", "HTTP address for /metrics and /healthz")
	c.MarkFlagFilename("tls-cert")
	c.MarkFlagFilename("tls-key")
	c.MarkFlagFilename("client-ca")
	c.MarkFlagFilename("tokens")
	c.MarkFlagDirname("cache-dir")
	return c
}

func runServer(ctx context.Context, a *app, sf *serverFlags) error {
	opts, err := sf.options()
	if err != nil {
		return err
	}
	creds, err := sf.credentials()
	if err != nil {
		return err
	}
	srv, err := server.New(opts)
	if err != nil {
		return err
	}
	var gopts []grpc.ServerOption
	if creds != nil {
		gopts = append(gopts, grpc.Creds(creds))
	}
	g := srv.NewGRPCServer(gopts...)
	listen := sf.listen
	if len(listen) == 0 {
		listen = []string{"localhost:11001"}
	}
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	for _, addr := range listen {
		l, err := listenOn(addr)
		if err != nil {
			return err
		}
		listeners = append(listeners, l)
	}
	var httpSrv *http.Server
	if sf.metrics != "" {
		l, err := net.Listen("tcp", sf.metrics)
		if err != nil {
			return fmt.Errorf("listening for metrics: %w", err)
		}
		httpSrv = &http.Server{Handler: srv.HTTPHandler(), ReadHeaderTimeout: 10 * time.Second}
		go httpSrv.Serve(l)
		fmt.Fprintf(a.stderr, "bst server: metrics on http://%s/metrics\n", l.Addr())
	}
	var mode []string
	if creds != nil {
		mode = append(mode, "TLS")
	}
	if sf.clientCA != "" {
		mode = append(mode, "client certificates")
	}
	if opts.Tokens != nil {
		mode = append(mode, "access tokens")
	}
	mode = append(mode, "anonymous "+opts.Anonymous.String())
	for _, l := range listeners {
		fmt.Fprintf(a.stderr, "bst server: serving %s on %s (%s)\n", srv.Dir(), listenerName(l), strings.Join(mode, ", "))
	}
	errc := make(chan error, len(listeners))
	var wg sync.WaitGroup
	for _, l := range listeners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := g.Serve(l); err != nil && !errors.Is(err, grpc.ErrServerStopped) {
				errc <- err
			}
		}()
	}
	select {
	case <-ctx.Done():
		fmt.Fprintln(a.stderr, "bst server: stopping")
	case err = <-errc:
	}
	srv.Shutdown()
	stopped := make(chan struct{})
	go func() { g.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		g.Stop()
	}
	if httpSrv != nil {
		httpSrv.Close()
	}
	wg.Wait()
	return err
}

func listenerName(l net.Listener) string {
	if l.Addr().Network() == "unix" {
		return "unix:" + l.Addr().String()
	}
	return l.Addr().String()
}

// listenOn opens HOST:PORT or unix:PATH. A stale socket file (nobody
// listening) is replaced.
func listenOn(addr string) (net.Listener, error) {
	if p, ok := strings.CutPrefix(addr, "unix:"); ok {
		p = strings.TrimPrefix(p, "//")
		if st, err := os.Lstat(p); err == nil && st.Mode()&os.ModeSocket != 0 {
			if c, err := net.Dial("unix", p); err == nil {
				c.Close()
				return nil, fmt.Errorf("listening on %s: another server is serving there", addr)
			}
			os.Remove(p)
		}
		l, err := net.Listen("unix", p)
		if err != nil {
			return nil, fmt.Errorf("listening on %s: %w", addr, err)
		}
		return l, nil
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", addr, err)
	}
	return l, nil
}

func (sf *serverFlags) options() (server.Options, error) {
	var opts server.Options
	dir := sf.cacheDir
	if dir == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return opts, &usageError{"--cache-dir is needed: there is no home directory"}
			}
			base = filepath.Join(home, ".cache")
		}
		dir = filepath.Join(base, "bst-server")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return opts, fmt.Errorf("cache directory: %w", err)
	}
	opts.Dir = dir
	total, _, err := cas.VolumeSize(dir)
	if err != nil {
		return opts, fmt.Errorf("cache directory: %w", err)
	}
	q, err := cas.ParseSize(sf.quota, total)
	if err != nil {
		return opts, &usageError{"--quota: " + err.Error()}
	}
	if q > 0 {
		opts.Quota = q
	}
	if opts.LowWatermark, err = cas.ParsePercentage(sf.lowWatermark); err != nil || opts.LowWatermark == 0 {
		return opts, &usageError{fmt.Sprintf("--low-watermark: %s is not a percentage above 0%%", sf.lowWatermark)}
	}
	if sf.tokens != "" {
		if opts.Tokens, err = server.LoadTokens(sf.tokens); err != nil {
			return opts, err
		}
	}
	switch {
	case sf.anonymous != "":
		if opts.Anonymous, err = server.ParseAccess(sf.anonymous); err != nil {
			return opts, &usageError{"--anonymous: " + err.Error()}
		}
	case opts.Tokens != nil:
		opts.Anonymous = server.NoAccess
	default:
		opts.Anonymous = server.PushAccess
	}
	return opts, nil
}

// credentials loads the TLS configuration, nil for plain gRPC.
func (sf *serverFlags) credentials() (credentials.TransportCredentials, error) {
	if sf.tlsCert == "" && sf.tlsKey == "" {
		if sf.clientCA != "" {
			return nil, &usageError{"--client-ca needs --tls-cert and --tls-key"}
		}
		return nil, nil
	}
	if sf.tlsCert == "" || sf.tlsKey == "" {
		return nil, &usageError{"--tls-cert and --tls-key go together"}
	}
	cert, err := tls.LoadX509KeyPair(sf.tlsCert, sf.tlsKey)
	if err != nil {
		return nil, fmt.Errorf("loading --tls-cert %s and --tls-key %s: %w", sf.tlsCert, sf.tlsKey, err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if sf.clientCA != "" {
		pem, err := os.ReadFile(sf.clientCA)
		if err != nil {
			return nil, fmt.Errorf("reading --client-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--client-ca %s holds no PEM certificate", sf.clientCA)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return credentials.NewTLS(cfg), nil
}
