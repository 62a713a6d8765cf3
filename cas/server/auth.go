package server

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"fmt"
	"os"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// Access is what a caller may do.
type Access int

// The levels of access, each including the one before.
const (
	NoAccess Access = iota
	ReadAccess
	PushAccess
)

func (a Access) String() string {
	switch a {
	case ReadAccess:
		return "read"
	case PushAccess:
		return "push"
	}
	return "none"
}

// ParseAccess reads "none", "read" or "push".
func ParseAccess(s string) (Access, error) {
	switch s {
	case "none":
		return NoAccess, nil
	case "read":
		return ReadAccess, nil
	case "push":
		return PushAccess, nil
	}
	return NoAccess, fmt.Errorf("invalid access %q: choose none, read or push", s)
}

// Tokens maps access tokens to rights. Only the SHA-256 of each token is
// kept.
type Tokens struct {
	rights map[[32]byte]Access
}

// LoadTokens reads a tokens file: one token per line, as
//
//	read  <token>
//	push  <token>
//	push  sha256:<hex of the token's SHA-256>
//
// with blank lines and lines starting with # ignored. The second form
// keeps the tokens themselves out of the server's configuration. Errors
// name the line, never its token.
func LoadTokens(path string) (*Tokens, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading tokens: %w", err)
	}
	defer f.Close()
	t := &Tokens{rights: map[[32]byte]Access{}}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Fields(text)
		if len(fields) != 2 {
			return nil, fmt.Errorf("%s:%d: want \"read TOKEN\" or \"push TOKEN\"", path, line)
		}
		a, err := ParseAccess(fields[0])
		if err != nil || a == NoAccess {
			return nil, fmt.Errorf("%s:%d: the rights must be read or push", path, line)
		}
		var sum [32]byte
		if h, ok := strings.CutPrefix(fields[1], "sha256:"); ok {
			b, err := hex.DecodeString(h)
			if err != nil || len(b) != 32 {
				return nil, fmt.Errorf("%s:%d: sha256: must be followed by 64 hex digits", path, line)
			}
			copy(sum[:], b)
		} else {
			sum = sha256.Sum256([]byte(fields[1]))
		}
		t.rights[sum] = max(t.rights[sum], a)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading tokens: %w", err)
	}
	return t, nil
}

// NewTokens returns tokens with the given rights (for tests and
// embedding).
func NewTokens(rights map[string]Access) *Tokens {
	t := &Tokens{rights: map[[32]byte]Access{}}
	for tok, a := range rights {
		t.rights[sha256.Sum256([]byte(tok))] = a
	}
	return t
}

// lookup returns a token's rights, comparing in constant time.
func (t *Tokens) lookup(token string) (Access, bool) {
	sum := sha256.Sum256([]byte(token))
	for k, a := range t.rights {
		if subtle.ConstantTimeCompare(k[:], sum[:]) == 1 {
			return a, true
		}
	}
	return NoAccess, false
}

// The methods that change the cache; every other one reads.
var pushMethods = map[string]bool{
	"/build.bazel.remote.execution.v2.ContentAddressableStorage/BatchUpdateBlobs": true,
	"/google.bytestream.ByteStream/Write":                                         true,
	"/build.bazel.remote.execution.v2.ActionCache/UpdateActionResult":             true,
	"/build.bazel.remote.asset.v1.Push/PushBlob":                                  true,
	"/build.bazel.remote.asset.v1.Push/PushDirectory":                             true,
}

// publicMethods need no rights.
func publicMethod(method string) bool { return strings.HasPrefix(method, "/grpc.health.v1.Health/") }

type accessKey struct{}

// callerAccess returns what the caller of ctx may do (set by the auth
// interceptors).
func callerAccess(ctx context.Context) Access {
	if a, ok := ctx.Value(accessKey{}).(Access); ok {
		return a
	}
	return NoAccess
}

// authorize decides the caller's access and refuses calls it does not
// allow.
func (s *Server) authorize(ctx context.Context, method string) (context.Context, error) {
	if publicMethod(method) {
		return ctx, nil
	}
	access := s.opts.Anonymous
	if s.opts.Tokens != nil {
		if token, ok := bearerToken(ctx); ok {
			a, known := s.opts.Tokens.lookup(token)
			if !known {
				s.metrics.authFailures.Add(1)
				return ctx, status.Error(codes.Unauthenticated, "invalid access token")
			}
			access = a
		}
	}
	need := ReadAccess
	if pushMethods[method] {
		need = PushAccess
	}
	if access < need {
		s.metrics.authFailures.Add(1)
		switch {
		case access == NoAccess && s.opts.Tokens != nil:
			return ctx, status.Error(codes.Unauthenticated, "this server needs an access token")
		case need == PushAccess:
			if s.opts.Tokens != nil {
				return ctx, status.Error(codes.PermissionDenied, "the access token has no push rights")
			}
			return ctx, status.Error(codes.PermissionDenied, "this server does not accept pushes")
		default:
			return ctx, status.Error(codes.PermissionDenied, "access denied")
		}
	}
	return context.WithValue(ctx, accessKey{}, access), nil
}

// bearerToken reads "authorization: Bearer <token>".
func bearerToken(ctx context.Context) (string, bool) {
	md, _ := metadata.FromIncomingContext(ctx)
	for _, v := range md.Get("authorization") {
		if tok, ok := strings.CutPrefix(v, "Bearer "); ok {
			return strings.TrimSpace(tok), true
		}
	}
	return "", false
}

func (s *Server) unaryInterceptor(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	done := s.metrics.start(info.FullMethod)
	ctx, err := s.authorize(ctx, info.FullMethod)
	if err != nil {
		done(err)
		return nil, err
	}
	resp, err := handler(ctx, req)
	done(err)
	return resp, err
}

func (s *Server) streamInterceptor(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, handler grpc.StreamHandler) error {
	done := s.metrics.start(info.FullMethod)
	ctx, err := s.authorize(ss.Context(), info.FullMethod)
	if err != nil {
		done(err)
		return err
	}
	err = handler(srv, &ctxStream{ServerStream: ss, ctx: ctx})
	done(err)
	return err
}

type ctxStream struct {
	grpc.ServerStream
	ctx context.Context
}

func (c *ctxStream) Context() context.Context { return c.ctx }
