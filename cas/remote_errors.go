package cas

import (
	"errors"
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// RemoteError is a failure of one remote cache: it could not be reached,
// it refused a request, or it served data that does not match its
// digest. A build goes on without that remote, so callers report a
// RemoteError as a warning rather than a failure. It never holds
// credentials.
type RemoteError struct {
	Remote string     // the remote's URL (and instance name)
	Op     string     // what was being done, such as "pushing artifact p/e/k"
	Code   codes.Code // the gRPC status, or codes.DataLoss for bad data
	Err    error
}

func (e *RemoteError) Error() string {
	msg := fmt.Sprintf("remote cache %s: %s", e.Remote, e.Op)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *RemoteError) Unwrap() error { return e.Err }

// Temporary reports whether trying again later may succeed: the remote
// was unreachable, overloaded or too slow.
func (e *RemoteError) Temporary() bool {
	switch e.Code {
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted, codes.Aborted:
		return true
	}
	return false
}

// Denied reports whether the remote refused the credentials, or their
// rights (a token without push rights, say).
func (e *RemoteError) Denied() bool {
	return e.Code == codes.PermissionDenied || e.Code == codes.Unauthenticated
}

// BlobMismatchError is a blob a remote served whose content is not what
// its digest names. The data is never stored.
type BlobMismatchError struct {
	Digest Digest
	Got    Digest
}

func (e *BlobMismatchError) Error() string {
	return fmt.Sprintf("blob %s is corrupted on the server: its content hashes to %s", e.Digest, e.Got)
}

// BlobNotFoundError says a remote does not have a blob that was needed,
// such as one an artifact names: that remote cannot provide the artifact.
type BlobNotFoundError struct {
	Digest Digest
}

func (e *BlobNotFoundError) Error() string {
	return fmt.Sprintf("blob %s is missing", e.Digest)
}

// ErrNoRemotes is returned when an operation needs remotes and none is
// configured (or none could be used).
var ErrNoRemotes = errors.New("no remote caches are configured")

// remoteErr wraps err, from a call to remote r doing op, in a
// *RemoteError. gRPC errors keep their code and only their message (never
// the request's metadata); a nil err stays nil.
func remoteErr(remote, op string, err error) error {
	if err == nil {
		return nil
	}
	var re *RemoteError
	if errors.As(err, &re) {
		return err
	}
	var le localErr
	if errors.As(err, &le) {
		return le.err // a failure of the local cache, not of the remote
	}
	code := codes.Unknown
	var mm *BlobMismatchError
	var nf *BlobNotFoundError
	switch {
	case errors.As(err, &mm):
		code = codes.DataLoss
	case errors.As(err, &nf):
		code = codes.NotFound
	default:
		if st, ok := status.FromError(err); ok {
			code = st.Code()
			err = grpcError{code: code, msg: st.Message()}
		}
	}
	return &RemoteError{Remote: remote, Op: op, Code: code, Err: err}
}

// grpcError is a gRPC status rendered for people: "permission denied:
// the token has no push rights" rather than "rpc error: code = …".
type grpcError struct {
	code codes.Code
	msg  string
}

func (e grpcError) Error() string {
	name := codeName(e.code)
	if e.msg == "" {
		return name
	}
	return name + ": " + e.msg
}

// GRPCStatus lets status.FromError see through the wrapping.
func (e grpcError) GRPCStatus() *status.Status { return status.New(e.code, e.msg) }

// codeName renders a gRPC code in words: PermissionDenied becomes
// "permission denied".
func codeName(c codes.Code) string {
	switch c {
	case codes.Unavailable:
		return "unavailable"
	case codes.Unauthenticated:
		return "not authenticated"
	case codes.PermissionDenied:
		return "permission denied"
	}
	s := c.String()
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte(' ')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// isNotFound reports whether err is a gRPC NOT_FOUND.
func isNotFound(err error) bool { return status.Code(err) == codes.NotFound }
