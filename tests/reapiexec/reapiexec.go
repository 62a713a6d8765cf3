// Package reapiexec is a small REAPI execution service for tests: the
// cache server of cas/server (CAS, ByteStream, Capabilities, action
// cache) plus Execution and Operations services whose one worker runs
// each action in bst's own sandbox. It talks to its own CAS and action
// cache over gRPC, as a separate worker would, and keeps counters the
// tests check. It is not meant for real use: Buildbarn, BuildGrid and
// NativeLink are.
package reapiexec

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/genproto/googleapis/rpc/code"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/bstgo/bst/cas"
	"github.com/bstgo/bst/cas/server"
	"github.com/bstgo/bst/sandbox"
)

// Options configure a Service.
type Options struct {
	// Dir holds the cache and the worker's state.
	Dir string
	// Timeout bounds each action that has no timeout of its own, as
	// Buildbarn's defaultExecutionTimeout does (0: none).
	Timeout time.Duration
	// BreakStreams ends every Execute stream with UNAVAILABLE right
	// after its first message, so that clients must follow the
	// operation with WaitExecution.
	BreakStreams bool
	// Log, when set, gets one line per event: "executing DIGEST",
	// "cache hit DIGEST", "lost worker DIGEST", "cancelled DIGEST",
	// "timed out DIGEST", "wait OPERATION", "cancel OPERATION" (a CancelOperation call), and
	// "output DIGEST: LINE" for each line an action prints on its
	// standard output while it runs.
	Log io.Writer
}

// FailWorkerEnv is an environment variable that, set in an action's
// command, makes the worker fail as if it had been lost, without running
// the command.
const FailWorkerEnv = "REAPIEXEC_LOSE_WORKER"

// Service is the execution service. Serve it with Serve.
type Service struct {
	opts   Options
	cache  *server.Server
	worker *cas.LocalStore
	sb     *sandbox.Sandbox

	// self and ac reach this service's own CAS and action cache.
	self *cas.Remote
	ac   repb.ActionCacheClient

	mu  sync.Mutex
	ops map[string]*operation

	// Executions counts the actions run; CacheHits the Execute calls
	// answered from the action cache; Waits the WaitExecution calls.
	Executions, CacheHits, Waits, Cancelled atomic.Int64
}

type operation struct {
	name   string
	done   chan struct{}
	cancel context.CancelFunc
	final  *longrunningpb.Operation
}

// New makes a service keeping its state under opts.Dir.
func New(ctx context.Context, opts Options) (*Service, error) {
	cache, err := server.New(server.Options{Dir: filepath.Join(opts.Dir, "cache"), Anonymous: server.PushAccess})
	if err != nil {
		return nil, err
	}
	worker, err := cas.OpenLocal(filepath.Join(opts.Dir, "worker"))
	if err != nil {
		return nil, err
	}
	sb, err := sandbox.New(ctx, sandbox.Options{Stager: worker, Dir: filepath.Join(opts.Dir, "sandbox")})
	if err != nil {
		return nil, err
	}
	return &Service{opts: opts, cache: cache, worker: worker, sb: sb, ops: map[string]*operation{}}, nil
}

// Serve serves every service on l until it is closed.
func (s *Service) Serve(l net.Listener) error {
	spec := cas.RemoteSpec{URL: "grpc://" + l.Addr().String(), Type: cas.RemoteStorage, Push: true, RetryLimit: -1}
	self, err := cas.DialRemote(spec)
	if err != nil {
		return err
	}
	s.self = self
	conn, err := grpc.NewClient(l.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	s.ac = repb.NewActionCacheClient(conn)
	g := s.cache.NewGRPCServer()
	repb.RegisterExecutionServer(g, execService{s})
	longrunningpb.RegisterOperationsServer(g, opsService{s: s})
	return g.Serve(l)
}

// Close removes the sandbox state.
func (s *Service) Close() error {
	if s.self != nil {
		s.self.Close()
	}
	return s.sb.Close()
}

type execService struct{ s *Service }

func (e execService) Execute(req *repb.ExecuteRequest, stream repb.Execution_ExecuteServer) error {
	s := e.s
	ad, err := cas.DigestFromProto(req.ActionDigest)
	if err != nil {
		return status.Errorf(codes.InvalidArgument, "action digest: %v", err)
	}
	op := s.start(req.InstanceName, ad, req.SkipCacheLookup)
	if err := stream.Send(&longrunningpb.Operation{Name: op.name}); err != nil {
		return err
	}
	if s.opts.BreakStreams {
		return status.Error(codes.Unavailable, "reapiexec: stream broken on purpose")
	}
	return s.follow(stream.Context(), op, stream.Send)
}

func (e execService) WaitExecution(req *repb.WaitExecutionRequest, stream repb.Execution_WaitExecutionServer) error {
	s := e.s
	s.Waits.Add(1)
	s.logf("wait %s", req.Name)
	s.mu.Lock()
	op := s.ops[req.Name]
	s.mu.Unlock()
	if op == nil {
		return status.Errorf(codes.NotFound, "no operation %q", req.Name)
	}
	return s.follow(stream.Context(), op, stream.Send)
}

// follow sends the operation once it is done.
func (s *Service) follow(ctx context.Context, op *operation, send func(*longrunningpb.Operation) error) error {
	select {
	case <-op.done:
		return send(op.final)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// start registers an operation and runs its action in the background.
func (s *Service) start(instance string, ad cas.Digest, skipCache bool) *operation {
	var id [12]byte
	rand.Read(id[:])
	ctx, cancel := context.WithCancel(context.Background())
	op := &operation{name: fmt.Sprintf("operations/%x", id), done: make(chan struct{}), cancel: cancel}
	s.mu.Lock()
	s.ops[op.name] = op
	s.mu.Unlock()
	go func() {
		defer cancel()
		resp := s.execute(ctx, instance, ad, skipCache)
		a, _ := anypb.New(resp)
		op.final = &longrunningpb.Operation{Name: op.name, Done: true, Result: &longrunningpb.Operation_Response{Response: a}}
		close(op.done)
	}()
	return op
}

func failed(c codes.Code, format string, args ...any) *repb.ExecuteResponse {
	return &repb.ExecuteResponse{Status: &rpcstatus.Status{Code: int32(c), Message: fmt.Sprintf(format, args...)}}
}

// execute runs one action, or answers it from the action cache.
func (s *Service) execute(ctx context.Context, instance string, ad cas.Digest, skipCache bool) *repb.ExecuteResponse {
	if !skipCache {
		ar, err := s.ac.GetActionResult(ctx, &repb.GetActionResultRequest{InstanceName: instance, ActionDigest: ad.Proto()})
		if err == nil {
			s.CacheHits.Add(1)
			s.logf("cache hit %s", ad)
			return &repb.ExecuteResponse{Result: ar, CachedResult: true, Status: &rpcstatus.Status{Code: int32(code.Code_OK)}}
		}
	}
	action := &repb.Action{}
	if err := s.readProto(ctx, ad, action); err != nil {
		return failed(codes.FailedPrecondition, "action: %v", err)
	}
	cd, err := cas.DigestFromProto(action.CommandDigest)
	if err != nil {
		return failed(codes.InvalidArgument, "command digest: %v", err)
	}
	cmd := &repb.Command{}
	if err := s.readProto(ctx, cd, cmd); err != nil {
		return failed(codes.FailedPrecondition, "command: %v", err)
	}
	root, err := cas.DigestFromProto(action.InputRootDigest)
	if err != nil {
		return failed(codes.InvalidArgument, "input root digest: %v", err)
	}
	if err := s.self.DownloadTree(ctx, s.worker, root); err != nil {
		return failed(codes.FailedPrecondition, "input root: %v", err)
	}
	for _, v := range cmd.EnvironmentVariables {
		if v.Name == FailWorkerEnv {
			s.logf("lost worker %s", ad)
			return failed(codes.Unavailable, "worker lost while running the action")
		}
	}
	s.Executions.Add(1)
	s.logf("executing %s", ad)
	timeout := s.opts.Timeout
	if action.Timeout != nil {
		timeout = action.Timeout.AsDuration()
	}
	runCtx := ctx
	if timeout > 0 {
		var cancel context.CancelFunc
		runCtx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	ar, err := s.run(runCtx, ad, root, cmd)
	if ctx.Err() == nil && runCtx.Err() != nil {
		s.logf("timed out %s", ad)
		return failed(codes.DeadlineExceeded, "the action ran longer than its timeout of %v", timeout)
	}
	if ctx.Err() != nil {
		s.Cancelled.Add(1)
		s.logf("cancelled %s", ad)
		return failed(codes.Canceled, "the operation was cancelled")
	}
	if err != nil {
		return failed(codes.Internal, "%v", err)
	}
	if ar.ExitCode == 0 && !action.DoNotCache {
		if _, err := s.ac.UpdateActionResult(ctx, &repb.UpdateActionResultRequest{
			InstanceName: instance, ActionDigest: ad.Proto(), ActionResult: ar}); err != nil {
			return failed(codes.Internal, "storing the action result: %v", err)
		}
	}
	return &repb.ExecuteResponse{Result: ar, Status: &rpcstatus.Status{}}
}

func (s *Service) logf(format string, args ...any) {
	if s.opts.Log == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.opts.Log, format+"\n", args...)
}

// lineLog logs each complete line written to it, after prefix, so that
// tests can see what an action prints while it runs.
type lineLog struct {
	s      *Service
	prefix string
	buf    []byte
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.buf = append(l.buf, p...)
	for {
		i := bytes.IndexByte(l.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		l.s.logf("%s%s", l.prefix, l.buf[:i])
		l.buf = l.buf[i+1:]
	}
}

func (s *Service) readProto(ctx context.Context, d cas.Digest, m proto.Message) error {
	if err := s.self.Download(ctx, s.worker, []cas.Digest{d}); err != nil {
		return err
	}
	data, err := s.worker.ReadBlob(ctx, d)
	if err != nil {
		return err
	}
	return proto.Unmarshal(data, m)
}

// run runs cmd over root in the sandbox, with a socket serving the
// service's cache at the remoteApisSocketPath platform property's path
// when there is one. Output paths are relative to
// the working directory, as REAPI has them. When one of them is the
// input root itself (BuildStream asks for that when a batch may change
// the root), the root is writable and every output is taken from the
// root the command left; otherwise the root is read-only and each
// output path is a writable copy of what the root holds there.
func (s *Service) run(ctx context.Context, ad, root cas.Digest, cmd *repb.Command) (*repb.ActionResult, error) {
	work, err := os.MkdirTemp(s.opts.Dir, "action-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(work)
	outputs := cmd.OutputPaths
	if len(outputs) == 0 {
		outputs = cmd.OutputDirectories
	}
	// Each output's path relative to the input root ("" for the root).
	inRoot := make([]string, len(outputs))
	rootWritable := false
	for i, p := range outputs {
		q := path.Join(cmd.WorkingDirectory, p)
		if q == ".." || strings.HasPrefix(q, "../") || path.IsAbs(p) {
			return nil, status.Errorf(codes.InvalidArgument, "output path %q leaves the input root", p)
		}
		if q == "." {
			q, rootWritable = "", true
		}
		inRoot[i] = q
	}
	tree := s.worker.LoadTree(root)
	cfg := sandbox.Config{Root: root, Cwd: "/" + cmd.WorkingDirectory, Args: cmd.Arguments, RootWritable: rootWritable}
	for _, v := range cmd.EnvironmentVariables {
		cfg.Env = append(cfg.Env, v.Name+"="+v.Value)
	}
	hosts := make([]string, len(outputs))
	for i, p := range inRoot {
		if rootWritable {
			break
		}
		hosts[i] = filepath.Join(work, fmt.Sprint(i))
		if sub, err := tree.Subtree(ctx, p); err == nil {
			err = s.worker.StageTree(ctx, sub, hosts[i], cas.StageOptions{Copy: true})
			if err != nil {
				return nil, err
			}
		} else if err := os.MkdirAll(hosts[i], 0o755); err != nil {
			return nil, err
		}
		cfg.Writable = append(cfg.Writable, sandbox.WritableDir{Path: "/" + p, HostPath: hosts[i]})
	}
	for _, prop := range cmd.GetPlatform().GetProperties() {
		if prop.Name != "remoteApisSocketPath" {
			continue
		}
		// As buildbox-run does: the worker's CAS and action cache on a
		// socket at that path.
		sock := filepath.Join(work, "casd.sock")
		l, err := net.Listen("unix", sock)
		if err != nil {
			return nil, err
		}
		g := s.cache.NewGRPCServer()
		go g.Serve(l)
		defer g.Stop()
		cfg.Mounts = append(cfg.Mounts, sandbox.Mount{Source: sock, Destination: "/" + strings.TrimPrefix(prop.Value, "/"), ReadWrite: true})
	}
	var stdout, stderr bytes.Buffer
	cfg.Stdout = io.MultiWriter(&stdout, &lineLog{s: s, prefix: "output " + ad.String() + ": "})
	cfg.Stderr = &stderr
	out, err := s.sb.Exec(ctx, cfg)
	if err != nil {
		return nil, err
	}
	ar := &repb.ActionResult{ExitCode: int32(out.ExitCode)}
	var roots []cas.Digest
	for i, p := range outputs {
		var d cas.Digest
		if rootWritable {
			d, err = s.worker.LoadTree(out.Root).Subtree(ctx, inRoot[i])
			if errors.Is(err, cas.ErrNotFound) {
				// Not left by the command: not an output.
				continue
			}
		} else {
			d, err = s.worker.CaptureTree(ctx, hosts[i])
		}
		if err != nil {
			return nil, err
		}
		roots = append(roots, d)
		treeMsg, err := s.treeOf(ctx, d)
		if err != nil {
			return nil, err
		}
		data, err := proto.MarshalOptions{Deterministic: true}.Marshal(treeMsg)
		if err != nil {
			return nil, err
		}
		td, err := s.worker.PutBytes(ctx, data)
		if err != nil {
			return nil, err
		}
		roots = append(roots, td)
		ar.OutputDirectories = append(ar.OutputDirectories, &repb.OutputDirectory{
			Path: p, TreeDigest: td.Proto(), RootDirectoryDigest: d.Proto()})
	}
	ds, err := s.worker.TreeDigests(ctx, dirRoots(roots)...)
	if err != nil {
		return nil, err
	}
	extra := map[cas.Digest][]byte{}
	for _, blob := range [][]byte{stdout.Bytes(), stderr.Bytes()} {
		extra[cas.NewDigest(blob)] = blob
	}
	for i := 1; i < len(roots); i += 2 {
		ds = append(ds, roots[i])
	}
	if _, err := s.self.Upload(ctx, s.worker, ds, extra); err != nil {
		return nil, err
	}
	ar.StdoutDigest = cas.NewDigest(stdout.Bytes()).Proto()
	ar.StderrDigest = cas.NewDigest(stderr.Bytes()).Proto()
	return ar, nil
}

// dirRoots picks the Directory roots out of roots, which alternate a
// root and its Tree message.
func dirRoots(roots []cas.Digest) []cas.Digest {
	var out []cas.Digest
	for i := 0; i < len(roots); i += 2 {
		out = append(out, roots[i])
	}
	return out
}

// treeOf is the Tree message of the Directory root.
func (s *Service) treeOf(ctx context.Context, root cas.Digest) (*repb.Tree, error) {
	t := &repb.Tree{}
	seen := map[cas.Digest]bool{}
	var walk func(d cas.Digest, top bool) error
	walk = func(d cas.Digest, top bool) error {
		dir, err := s.worker.ReadDirectory(ctx, d)
		if err != nil {
			return err
		}
		if top {
			t.Root = dir
		} else if !seen[d] {
			seen[d] = true
			t.Children = append(t.Children, dir)
		}
		for _, sub := range dir.Directories {
			sd, err := cas.DigestFromProto(sub.Digest)
			if err != nil {
				return err
			}
			if err := walk(sd, false); err != nil {
				return err
			}
		}
		return nil
	}
	return t, walk(root, true)
}

type opsService struct {
	longrunningpb.UnimplementedOperationsServer
	s *Service
}

// CancelOperation cancels a running action.
func (o opsService) CancelOperation(ctx context.Context, req *longrunningpb.CancelOperationRequest) (*emptypb.Empty, error) {
	o.s.mu.Lock()
	op := o.s.ops[req.Name]
	o.s.mu.Unlock()
	if op == nil {
		return nil, status.Errorf(codes.NotFound, "no operation %q", req.Name)
	}
	o.s.logf("cancel %s", req.Name)
	op.cancel()
	return &emptypb.Empty{}, nil
}
