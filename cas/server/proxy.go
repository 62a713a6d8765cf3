package server

import (
	"context"
	"errors"
	"io"
	"math"
	"strings"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
	bspb "google.golang.org/genproto/googleapis/bytestream"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// ProxyOptions configure a proxy: the remote services its calls go to.
type ProxyOptions struct {
	// CAS serves the CAS, ByteStream and Capabilities calls, under
	// CASInstance whatever instance name the caller gives.
	CAS         grpc.ClientConnInterface
	CASInstance string
	// AC serves the action cache calls, under ACInstance.
	AC         grpc.ClientConnInterface
	ACInstance string
	// ACUpdate allows UpdateActionResult; it is refused otherwise.
	ACUpdate bool
}

// NewProxy returns a gRPC server whose CAS, ByteStream, Capabilities and
// ActionCache services forward every call to remote services, as
// buildbox-casd does for the remote-apis-socket of BuildStream builds
// when a remote action cache is configured: a REAPI client in a build
// (such as recc) shares the remote cache. Instance names are replaced by
// the remote's.
func NewProxy(opts ProxyOptions) *grpc.Server {
	g := grpc.NewServer(grpc.MaxRecvMsgSize(MaxMessageBytes), grpc.MaxSendMsgSize(math.MaxInt32))
	repb.RegisterContentAddressableStorageServer(g, casProxy{opts: opts, c: repb.NewContentAddressableStorageClient(opts.CAS)})
	bspb.RegisterByteStreamServer(g, bsProxy{opts: opts, c: bspb.NewByteStreamClient(opts.CAS)})
	repb.RegisterCapabilitiesServer(g, capsProxy{opts: opts, c: repb.NewCapabilitiesClient(opts.CAS)})
	repb.RegisterActionCacheServer(g, acProxy{opts: opts, c: repb.NewActionCacheClient(opts.AC)})
	return g
}

type casProxy struct {
	repb.UnimplementedContentAddressableStorageServer
	opts ProxyOptions
	c    repb.ContentAddressableStorageClient
}

func (p casProxy) FindMissingBlobs(ctx context.Context, req *repb.FindMissingBlobsRequest) (*repb.FindMissingBlobsResponse, error) {
	req = proto.Clone(req).(*repb.FindMissingBlobsRequest)
	req.InstanceName = p.opts.CASInstance
	return p.c.FindMissingBlobs(ctx, req)
}

func (p casProxy) BatchUpdateBlobs(ctx context.Context, req *repb.BatchUpdateBlobsRequest) (*repb.BatchUpdateBlobsResponse, error) {
	req = proto.Clone(req).(*repb.BatchUpdateBlobsRequest)
	req.InstanceName = p.opts.CASInstance
	return p.c.BatchUpdateBlobs(ctx, req)
}

func (p casProxy) BatchReadBlobs(ctx context.Context, req *repb.BatchReadBlobsRequest) (*repb.BatchReadBlobsResponse, error) {
	req = proto.Clone(req).(*repb.BatchReadBlobsRequest)
	req.InstanceName = p.opts.CASInstance
	return p.c.BatchReadBlobs(ctx, req)
}

func (p casProxy) GetTree(req *repb.GetTreeRequest, stream grpc.ServerStreamingServer[repb.GetTreeResponse]) error {
	req = proto.Clone(req).(*repb.GetTreeRequest)
	req.InstanceName = p.opts.CASInstance
	up, err := p.c.GetTree(stream.Context(), req)
	if err != nil {
		return err
	}
	return forward(up.Recv, stream.Send)
}

// forward sends every message recv gives to send, until the end of the
// stream.
func forward[T any](recv func() (T, error), send func(T) error) error {
	for {
		m, err := recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := send(m); err != nil {
			return err
		}
	}
}

type bsProxy struct {
	opts ProxyOptions
	c    bspb.ByteStreamClient
}

// resource renames a ByteStream resource to the remote's instance: what
// comes before "blobs/" (reads) or "uploads/" (writes) is the caller's
// instance name.
func (p bsProxy) resource(name, kind string) (string, error) {
	var rest string
	switch {
	case strings.HasPrefix(name, kind+"/"):
		rest = name
	case strings.Contains(name, "/"+kind+"/"):
		rest = name[strings.Index(name, "/"+kind+"/")+1:]
	default:
		return "", status.Errorf(codes.InvalidArgument, "invalid resource name %q", name)
	}
	if p.opts.CASInstance == "" {
		return rest, nil
	}
	return p.opts.CASInstance + "/" + rest, nil
}

func (p bsProxy) Read(req *bspb.ReadRequest, stream bspb.ByteStream_ReadServer) error {
	name, err := p.resource(req.ResourceName, "blobs")
	if err != nil {
		return err
	}
	req = proto.Clone(req).(*bspb.ReadRequest)
	req.ResourceName = name
	up, err := p.c.Read(stream.Context(), req)
	if err != nil {
		return err
	}
	return forward(up.Recv, stream.Send)
}

func (p bsProxy) Write(stream bspb.ByteStream_WriteServer) error {
	up, err := p.c.Write(stream.Context())
	if err != nil {
		return err
	}
	first := true
	for {
		msg, err := stream.Recv()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if first {
			first = false
			name, err := p.resource(msg.ResourceName, "uploads")
			if err != nil {
				return err
			}
			msg = proto.Clone(msg).(*bspb.WriteRequest)
			msg.ResourceName = name
		} else if msg.ResourceName != "" {
			msg = proto.Clone(msg).(*bspb.WriteRequest)
			msg.ResourceName = ""
		}
		if err := up.Send(msg); err != nil {
			if errors.Is(err, io.EOF) {
				// The remote ended the upload (it has the blob, or
				// refused it): its answer is in CloseAndRecv.
				break
			}
			return err
		}
		if msg.FinishWrite {
			break
		}
	}
	resp, err := up.CloseAndRecv()
	if err != nil {
		return err
	}
	return stream.SendAndClose(resp)
}

func (p bsProxy) QueryWriteStatus(ctx context.Context, req *bspb.QueryWriteStatusRequest) (*bspb.QueryWriteStatusResponse, error) {
	name, err := p.resource(req.ResourceName, "uploads")
	if err != nil {
		return nil, err
	}
	return p.c.QueryWriteStatus(ctx, &bspb.QueryWriteStatusRequest{ResourceName: name})
}

type capsProxy struct {
	repb.UnimplementedCapabilitiesServer
	opts ProxyOptions
	c    repb.CapabilitiesClient
}

// GetCapabilities is the remote CAS's, without execution, and with
// action cache updates only when the proxy allows them.
func (p capsProxy) GetCapabilities(ctx context.Context, req *repb.GetCapabilitiesRequest) (*repb.ServerCapabilities, error) {
	caps, err := p.c.GetCapabilities(ctx, &repb.GetCapabilitiesRequest{InstanceName: p.opts.CASInstance})
	if err != nil {
		return nil, err
	}
	caps.ExecutionCapabilities = nil
	if cc := caps.CacheCapabilities; cc != nil {
		update := p.opts.ACUpdate && cc.GetActionCacheUpdateCapabilities().GetUpdateEnabled()
		cc.ActionCacheUpdateCapabilities = &repb.ActionCacheUpdateCapabilities{UpdateEnabled: update}
	}
	return caps, nil
}

type acProxy struct {
	repb.UnimplementedActionCacheServer
	opts ProxyOptions
	c    repb.ActionCacheClient
}

func (p acProxy) GetActionResult(ctx context.Context, req *repb.GetActionResultRequest) (*repb.ActionResult, error) {
	req = proto.Clone(req).(*repb.GetActionResultRequest)
	req.InstanceName = p.opts.ACInstance
	return p.c.GetActionResult(ctx, req)
}

func (p acProxy) UpdateActionResult(ctx context.Context, req *repb.UpdateActionResultRequest) (*repb.ActionResult, error) {
	if !p.opts.ACUpdate {
		return nil, status.Error(codes.PermissionDenied, "updating the action cache is not allowed here")
	}
	req = proto.Clone(req).(*repb.UpdateActionResultRequest)
	req.InstanceName = p.opts.ACInstance
	return p.c.UpdateActionResult(ctx, req)
}
