package scheduler

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/cas/server"
	"github.com/bstgo/bst/sandbox"
)

// remoteAPIsSocket serves, for one batch, a CAS and action cache on a
// Unix socket bind-mounted into the sandbox at the element's
// sandbox.remote-apis-socket path, so that REAPI clients inside the
// build, such as recc, can cache what they compile (BuildStream gives
// them buildbox-casd's socket). With a remote-execution action-cache-service
// configured (and no execution-service: batches then run locally), the
// socket forwards to the configured storage-service and action cache,
// as casd does, so compilations are shared through them; updating the
// action cache then needs both action-cache-enable-update and the
// service's push. Otherwise the cache behind it is the element's own
// (under the local cache's remote-apis directory), kept between builds,
// and UpdateActionResult is refused unless action-cache-enable-update is
// set. The returned function stops the server.
func (b *build) remoteAPIsSocket(cfg *sandbox.Config) (func(), error) {
	sc := b.e.SandboxConfig
	var g *grpc.Server
	if ac, acInstance, push := b.r.opts.RemoteExec.ActionCacheConn(); ac != nil {
		storage, casInstance := b.r.opts.RemoteExec.StorageConn()
		g = server.NewProxy(server.ProxyOptions{CAS: storage, CASInstance: casInstance,
			AC: ac, ACInstance: acInstance, ACUpdate: push && sc.RemoteAPIsACUpdate})
	} else {
		srv, err := server.New(server.Options{
			Dir:       filepath.Join(b.Store().Root(), "remote-apis", cas.NormalName(b.e.Name)),
			Anonymous: server.PushAccess,
		})
		if err != nil {
			return nil, fmt.Errorf("%s: remote-apis-socket: %w", b.e.Name, err)
		}
		readOnlyAC := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, next grpc.UnaryHandler) (any, error) {
			if !sc.RemoteAPIsACUpdate && info.FullMethod == "/build.bazel.remote.execution.v2.ActionCache/UpdateActionResult" {
				return nil, status.Error(codes.PermissionDenied, "the element's remote-apis-socket has no action-cache-enable-update")
			}
			return next(ctx, req)
		}
		g = srv.NewGRPCServer(grpc.ChainUnaryInterceptor(readOnlyAC))
	}
	// Socket paths are short (108 bytes): keep it out of the build
	// directory.
	dir, err := os.MkdirTemp("", "bst-reapi-")
	if err != nil {
		g.Stop()
		return nil, fmt.Errorf("%s: remote-apis-socket: %w", b.e.Name, err)
	}
	sock := filepath.Join(dir, "casd.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		g.Stop()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("%s: remote-apis-socket: %w", b.e.Name, err)
	}
	go g.Serve(l)
	cfg.Mounts = append(cfg.Mounts, sandbox.Mount{Source: sock, Destination: sc.RemoteAPIsSocketPath, ReadWrite: true})
	return func() {
		g.Stop()
		os.RemoveAll(dir)
	}, nil
}
