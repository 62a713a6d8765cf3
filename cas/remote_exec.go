package cas

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"cloud.google.com/go/longrunning/autogen/longrunningpb"
	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Executor runs REAPI Actions on a remote execution service: it uploads
// an action's inputs to the storage service, asks the action cache
// first, then Execute, following the operation with WaitExecution when
// the stream breaks, and downloads the outputs into the local store.
//
//	bst                        storage            action cache       execution
//	 │ FindMissingBlobs/upload ──▶│                     │                 │
//	 │ GetActionResult ─────────────────────────────────▶│ (hit: done)     │
//	 │ Execute(action) ───────────────────────────────────────────────────▶│
//	 │ ◀── Operation(name) … ─────────────────────────────────────────────── │
//	 │   stream broken: WaitExecution(name) ──────────────────────────────▶│
//	 │ ◀── Operation(done, ExecuteResponse) ─────────────────────────────── │
//	 │ download outputs, stdout, stderr ◀─│
//
// An Executor is safe for concurrent use.
type Executor struct {
	spec    RemoteExecSpec
	storage *Remote
	exec    repb.ExecutionClient
	ops     longrunningpb.OperationsClient
	ac      repb.ActionCacheClient
	acConn  *grpc.ClientConn
	execCfg RemoteSpec
	acCfg   RemoteSpec
	closers []*Remote
}

// DialExecutor prepares connections to the services of spec, which must
// have a storage service and an execution service or an action cache
// (without an execution service, nothing is executed: the storage and
// the action cache serve the remote-apis-socket of local builds, as in
// BuildStream).
func DialExecutor(spec RemoteExecSpec) (*Executor, error) {
	if spec.Storage == nil || (spec.Execution == nil && spec.ActionCache == nil) {
		return nil, errors.New("remote execution needs a storage-service and an execution-service or action-cache-service")
	}
	x := &Executor{spec: spec}
	dial := func(s RemoteSpec) (*Remote, error) {
		r, err := DialRemote(s)
		if err != nil {
			return nil, err
		}
		x.closers = append(x.closers, r)
		return r, nil
	}
	var err error
	if x.storage, err = dial(*spec.Storage); err != nil {
		x.Close()
		return nil, err
	}
	if spec.Execution != nil {
		x.execCfg = *spec.Execution
		execRemote := x.storage
		if spec.Execution.key() != spec.Storage.key() {
			if execRemote, err = dial(*spec.Execution); err != nil {
				x.Close()
				return nil, err
			}
		}
		x.exec = repb.NewExecutionClient(execRemote.conn)
		x.ops = longrunningpb.NewOperationsClient(execRemote.conn)
	}
	if spec.ActionCache != nil {
		x.acCfg = *spec.ActionCache
		acRemote := x.storage
		if spec.ActionCache.key() != spec.Storage.key() {
			if acRemote, err = dial(*spec.ActionCache); err != nil {
				x.Close()
				return nil, err
			}
		}
		x.ac = repb.NewActionCacheClient(acRemote.conn)
		x.acConn = acRemote.conn
	}
	return x, nil
}

// CanExecute reports whether there is an execution service: without
// one, builds run locally.
func (x *Executor) CanExecute() bool { return x != nil && x.exec != nil }

// StorageConn is the connection to the storage service and its instance
// name.
func (x *Executor) StorageConn() (grpc.ClientConnInterface, string) {
	return x.storage.conn, x.spec.Storage.InstanceName
}

// ActionCacheConn is the connection to the action cache service, its
// instance name and whether it may be updated (its push flag); a nil
// connection when there is none.
func (x *Executor) ActionCacheConn() (conn grpc.ClientConnInterface, instance string, push bool) {
	if x == nil || x.acConn == nil {
		return nil, "", false
	}
	return x.acConn, x.acCfg.InstanceName, x.acCfg.Push
}

// Close closes the connections.
func (x *Executor) Close() error {
	for _, r := range x.closers {
		r.Close()
	}
	return nil
}

// Storage is the storage service's CAS.
func (x *Executor) Storage() *Remote { return x.storage }

// ExecRequest is one action to run.
type ExecRequest struct {
	// InputRoot is the Directory, in the local store, staged as the
	// action's root.
	InputRoot Digest
	Command   *repb.Command
	// Timeout bounds the execution on the worker (0: the server's
	// default).
	Timeout time.Duration
}

// ExecResult is what an action left.
type ExecResult struct {
	// ActionDigest names the action, for messages.
	ActionDigest Digest
	// Cached says the result came from the action cache: nothing ran.
	Cached   bool
	ExitCode int
	// Outputs maps each output path of the command that the action
	// created to its Directory, now in the local store.
	Outputs        map[string]Digest
	Stdout, Stderr []byte
}

// ExecError is an action that could not be run, or that the service
// reports as failed (a worker lost, a timeout), rather than a command
// that exited with a non-zero status.
type ExecError struct {
	Remote       string
	ActionDigest Digest
	Code         codes.Code
	Message      string
}

func (e *ExecError) Error() string {
	what := "remote execution failed"
	if e.Code == codes.DeadlineExceeded {
		what = "remote execution timed out"
	}
	return fmt.Sprintf("%s on %s (action %s): %s: %s", what, e.Remote, e.ActionDigest, e.Code, e.Message)
}

// maxWaitRetries bounds how many times a broken operation stream is
// followed again with WaitExecution before giving up.
const maxWaitRetries = 8

// Execute runs req: its inputs are uploaded (only the blobs the storage
// service lacks), the action cache is asked, and on a miss the action is
// executed. Cancelling ctx cancels the remote operation. The command's
// output directories and standard streams are downloaded into local.
func (x *Executor) Execute(ctx context.Context, local *LocalStore, req ExecRequest) (*ExecResult, error) {
	if x.exec == nil {
		return nil, errors.New("no execution-service is configured")
	}
	cmdData, err := proto.MarshalOptions{Deterministic: true}.Marshal(req.Command)
	if err != nil {
		return nil, err
	}
	cmdDigest := NewDigest(cmdData)
	action := &repb.Action{
		CommandDigest:   cmdDigest.Proto(),
		InputRootDigest: req.InputRoot.Proto(),
		Platform:        req.Command.Platform,
	}
	if req.Timeout > 0 {
		action.Timeout = durationpb.New(req.Timeout)
	}
	actionData, err := proto.MarshalOptions{Deterministic: true}.Marshal(action)
	if err != nil {
		return nil, err
	}
	actionDigest := NewDigest(actionData)
	res := &ExecResult{ActionDigest: actionDigest}

	if x.ac != nil {
		ar, err := x.ac.GetActionResult(ctx, &repb.GetActionResultRequest{
			InstanceName: x.acCfg.InstanceName, ActionDigest: actionDigest.Proto(),
			DigestFunction: repb.DigestFunction_SHA256,
		})
		switch {
		case err == nil && ar.ExitCode == 0:
			res.Cached = true
			if err := x.fetchResult(ctx, local, ar, res); err == nil {
				return res, nil
			}
			// Outputs that cannot be fetched: execute again.
			res.Cached = false
		case err != nil && status.Code(err) != codes.NotFound && ctx.Err() != nil:
			return nil, ctx.Err()
		}
	}

	// Learn the storage service's batch limits before sending.
	if err := x.storage.Check(ctx); err != nil {
		return nil, err
	}
	roots, err := local.TreeDigests(ctx, req.InputRoot)
	if err != nil {
		return nil, fmt.Errorf("input root of action %s: %w", actionDigest, err)
	}
	if _, err := x.storage.Upload(ctx, local, roots, map[Digest][]byte{cmdDigest: cmdData, actionDigest: actionData}); err != nil {
		return nil, fmt.Errorf("uploading the inputs of action %s: %w", actionDigest, err)
	}

	resp, err := x.run(ctx, actionDigest)
	if err != nil {
		return nil, err
	}
	if st := resp.GetStatus(); st.GetCode() != int32(codes.OK) {
		return nil, &ExecError{Remote: x.execCfg.String(), ActionDigest: actionDigest,
			Code: codes.Code(st.GetCode()), Message: st.GetMessage()}
	}
	if resp.Result == nil {
		return nil, &ExecError{Remote: x.execCfg.String(), ActionDigest: actionDigest,
			Code: codes.Internal, Message: "the execution service answered without a result"}
	}
	res.Cached = resp.CachedResult
	if err := x.fetchResult(ctx, local, resp.Result, res); err != nil {
		return nil, fmt.Errorf("fetching the outputs of action %s: %w", actionDigest, err)
	}
	return res, nil
}

// run sends Execute and follows the operation to its end.
func (x *Executor) run(ctx context.Context, actionDigest Digest) (*repb.ExecuteResponse, error) {
	fail := func(err error) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &ExecError{Remote: x.execCfg.String(), ActionDigest: actionDigest,
			Code: status.Code(err), Message: status.Convert(err).Message()}
	}
	var name string
	// When ctx ends before the operation does, cancel it on the server.
	defer func() {
		if name != "" && ctx.Err() != nil {
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			x.ops.CancelOperation(cctx, &longrunningpb.CancelOperationRequest{Name: name})
			cancel()
		}
	}()
	var stream grpc.ServerStreamingClient[longrunningpb.Operation]
	var err error
	stream, err = x.exec.Execute(ctx, &repb.ExecuteRequest{
		InstanceName: x.execCfg.InstanceName, ActionDigest: actionDigest.Proto(),
		DigestFunction: repb.DigestFunction_SHA256,
	})
	if err != nil {
		return nil, fail(err)
	}
	for broken := 0; ; {
		op, err := stream.Recv()
		if err == nil {
			name = op.GetName()
			if !op.GetDone() {
				continue
			}
			if e := op.GetError(); e != nil {
				return nil, &ExecError{Remote: x.execCfg.String(), ActionDigest: actionDigest,
					Code: codes.Code(e.GetCode()), Message: e.GetMessage()}
			}
			resp := &repb.ExecuteResponse{}
			if err := op.GetResponse().UnmarshalTo(resp); err != nil {
				return nil, fail(status.Errorf(codes.Internal, "the operation's response is not an ExecuteResponse: %v", err))
			}
			return resp, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		// The stream ended or broke before the operation was done:
		// follow the operation again by its name, as the protocol asks.
		// Without a name, nothing can be followed.
		if name == "" || broken >= maxWaitRetries || (err != io.EOF && !retryable(err) && status.Code(err) != codes.Internal) {
			if err == io.EOF {
				err = status.Error(codes.Unavailable, "the operation stream ended before the operation was done")
			}
			return nil, fail(err)
		}
		broken++
		if broken > 1 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(x.execCfg.retryDelay() << (broken - 2)):
			}
		}
		stream, err = x.exec.WaitExecution(ctx, &repb.WaitExecutionRequest{Name: name})
		if err != nil {
			return nil, fail(err)
		}
	}
}

// fetchResult downloads what an ActionResult names into local and res,
// and syncs local, since the caller records the outputs in an artifact.
func (x *Executor) fetchResult(ctx context.Context, local *LocalStore, ar *repb.ActionResult, res *ExecResult) error {
	release, err := local.Hold()
	if err != nil {
		return err
	}
	defer release()
	if err := x.fetchOutputs(ctx, local, ar, res); err != nil {
		return err
	}
	return local.Sync()
}

func (x *Executor) fetchOutputs(ctx context.Context, local *LocalStore, ar *repb.ActionResult, res *ExecResult) error {
	res.ExitCode = int(ar.ExitCode)
	res.Outputs = map[string]Digest{}
	for _, od := range ar.OutputDirectories {
		root, err := x.fetchOutputDir(ctx, local, od)
		if err != nil {
			return fmt.Errorf("output directory %s: %w", od.Path, err)
		}
		res.Outputs[od.Path] = root
	}
	var err error
	if res.Stdout, err = x.stream(ctx, ar.StdoutRaw, ar.StdoutDigest); err != nil {
		return fmt.Errorf("standard output: %w", err)
	}
	if res.Stderr, err = x.stream(ctx, ar.StderrRaw, ar.StderrDigest); err != nil {
		return fmt.Errorf("standard error: %w", err)
	}
	return nil
}

// fetchOutputDir downloads one output directory, by its root Directory
// when the server gives it, or else through its Tree message.
func (x *Executor) fetchOutputDir(ctx context.Context, local *LocalStore, od *repb.OutputDirectory) (Digest, error) {
	if od.RootDirectoryDigest != nil {
		root, err := DigestFromProto(od.RootDirectoryDigest)
		if err != nil {
			return Digest{}, err
		}
		return root, x.storage.DownloadTree(ctx, local, root)
	}
	td, err := DigestFromProto(od.TreeDigest)
	if err != nil {
		return Digest{}, err
	}
	data, err := x.readBlob(ctx, td)
	if err != nil {
		return Digest{}, err
	}
	tree := &repb.Tree{}
	if err := proto.Unmarshal(data, tree); err != nil {
		return Digest{}, fmt.Errorf("tree %s: %w", td, err)
	}
	if tree.Root == nil {
		return Digest{}, fmt.Errorf("tree %s has no root", td)
	}
	var files []Digest
	var root Digest
	for i, dir := range append([]*repb.Directory{tree.Root}, tree.Children...) {
		if err := CheckDirectory(dir); err != nil {
			return Digest{}, fmt.Errorf("tree %s: %w", td, err)
		}
		d, err := local.PutDirectory(ctx, dir)
		if err != nil {
			return Digest{}, err
		}
		if i == 0 {
			root = d
		}
		for _, f := range dir.Files {
			fd, err := DigestFromProto(f.Digest)
			if err != nil {
				return Digest{}, err
			}
			files = append(files, fd)
		}
	}
	missing, err := local.FindMissing(ctx, files)
	if err != nil {
		return Digest{}, err
	}
	if len(missing) > 0 {
		if err := x.storage.Download(ctx, local, missing); err != nil {
			return Digest{}, err
		}
	}
	return root, nil
}

// stream returns a standard stream of an action, inline or from the CAS.
func (x *Executor) stream(ctx context.Context, raw []byte, d *repb.Digest) ([]byte, error) {
	if len(raw) > 0 || d == nil || d.SizeBytes == 0 {
		return raw, nil
	}
	dg, err := DigestFromProto(d)
	if err != nil {
		return nil, err
	}
	return x.readBlob(ctx, dg)
}

func (x *Executor) readBlob(ctx context.Context, d Digest) ([]byte, error) {
	rc, err := x.storage.Open(ctx, d)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var b bytes.Buffer
	if _, err := io.Copy(&b, rc); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
