package server

import (
	"fmt"
	"math"
	"os"
	"path/filepath"

	rapb "github.com/bazelbuild/remote-apis/build/bazel/remote/asset/v1"
	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	bspb "google.golang.org/genproto/googleapis/bytestream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// Options configure a Server.
type Options struct {
	// Dir is the cache directory.
	Dir string
	// Quota is the most bytes of blobs kept; 0 means no quota. When it is
	// exceeded, least recently used blobs are removed until LowWatermark
	// of it is used.
	Quota int64
	// LowWatermark is a fraction of Quota (default 0.9).
	LowWatermark float64
	// Tokens, when set, give each access token its rights; callers
	// without a token get Anonymous.
	Tokens *Tokens
	// Anonymous is what callers without a token may do: with no Tokens,
	// every caller (PushAccess for an open cache, ReadAccess for a
	// read-only one).
	Anonymous Access
}

// MaxBatchBytes is the batch limit announced in Capabilities. gRPC
// messages up to MaxMessageBytes are accepted, leaving room around it.
const (
	MaxBatchBytes   = 4 << 20
	MaxMessageBytes = MaxBatchBytes + 1<<20
)

// Server implements the cache's gRPC services over one directory.
type Server struct {
	opts    Options
	blobs   *blobStore
	ac      *index
	assets  *index
	metrics *metrics
	health  *health.Server
}

// New opens (creating it if needed) the cache in opts.Dir.
func New(opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, fmt.Errorf("cache server: no cache directory")
	}
	m := newMetrics()
	blobs, err := openBlobStore(opts.Dir, opts.Quota, opts.LowWatermark, m)
	if err != nil {
		return nil, fmt.Errorf("cache server: %w", err)
	}
	tmp := filepath.Join(blobs.local.Root(), "cas", "tmp")
	ac, err := openIndex(filepath.Join(blobs.local.Root(), "ac"), tmp)
	if err != nil {
		return nil, fmt.Errorf("cache server: %w", err)
	}
	assets, err := openIndex(filepath.Join(blobs.local.Root(), "assets"), tmp)
	if err != nil {
		return nil, fmt.Errorf("cache server: %w", err)
	}
	s := &Server{opts: opts, blobs: blobs, ac: ac, assets: assets, metrics: m, health: health.NewServer()}
	return s, nil
}

// Dir returns the cache directory.
func (s *Server) Dir() string { return s.blobs.local.Root() }

// ServerOptions are the gRPC options the server needs: message sizes
// and its interceptors (metrics, authorization). Add credentials to
// them.
func (s *Server) ServerOptions() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxRecvMsgSize(MaxMessageBytes),
		grpc.MaxSendMsgSize(math.MaxInt32),
		grpc.ChainUnaryInterceptor(s.unaryInterceptor),
		grpc.ChainStreamInterceptor(s.streamInterceptor),
	}
}

// Register adds every service to g, which must have been made with
// ServerOptions.
func (s *Server) Register(g *grpc.Server) {
	repb.RegisterContentAddressableStorageServer(g, casService{s: s})
	repb.RegisterCapabilitiesServer(g, capsService{s: s})
	repb.RegisterActionCacheServer(g, acService{s: s})
	bspb.RegisterByteStreamServer(g, bsService{s: s})
	rapb.RegisterFetchServer(g, fetchService{s: s})
	rapb.RegisterPushServer(g, pushService{s: s})
	healthpb.RegisterHealthServer(g, s.health)
}

// NewGRPCServer returns a gRPC server with every service registered; opts
// (such as credentials) are added to ServerOptions.
func (s *Server) NewGRPCServer(opts ...grpc.ServerOption) *grpc.Server {
	g := grpc.NewServer(append(s.ServerOptions(), opts...)...)
	s.Register(g)
	return g
}

// Shutdown marks the server as not serving in health checks.
func (s *Server) Shutdown() { s.health.Shutdown() }

// healthy checks that the cache directory can be written.
func (s *Server) healthy() error {
	f, err := os.CreateTemp(filepath.Join(s.blobs.local.Root(), "cas", "tmp"), "health-")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}
