package cas

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	repb "github.com/bazelbuild/remote-apis/build/bazel/remote/execution/v2"
)

// Digest identifies a blob by its SHA-256 hash and size, as REAPI does. The
// zero value is not a valid digest; every other Digest is.
type Digest struct {
	hash [32]byte
	size int64
}

// NewDigest returns the digest of data.
func NewDigest(data []byte) Digest {
	return Digest{hash: sha256.Sum256(data), size: int64(len(data))}
}

// DigestOf builds a digest from a hash already computed.
func DigestOf(hash [32]byte, size int64) Digest { return Digest{hash: hash, size: size} }

// ParseDigest parses "hash/size".
func ParseDigest(s string) (Digest, error) {
	h, sz, ok := strings.Cut(s, "/")
	if !ok || len(h) != 64 {
		return Digest{}, fmt.Errorf("invalid digest %q: want 64 hex digits, a slash and a size", s)
	}
	var d Digest
	if _, err := hex.Decode(d.hash[:], []byte(h)); err != nil || strings.ToLower(h) != h {
		return Digest{}, fmt.Errorf("invalid digest %q: the hash is not lower-case hex", s)
	}
	n, err := strconv.ParseInt(sz, 10, 64)
	if err != nil || n < 0 {
		return Digest{}, fmt.Errorf("invalid digest %q: bad size", s)
	}
	d.size = n
	return d, nil
}

// Hash returns the hash in hex.
func (d Digest) Hash() string { return hex.EncodeToString(d.hash[:]) }

// Size returns the blob's size in bytes.
func (d Digest) Size() int64 { return d.size }

// String renders "hash/size".
func (d Digest) String() string { return d.Hash() + "/" + strconv.FormatInt(d.size, 10) }

// Proto converts d for REAPI messages.
func (d Digest) Proto() *repb.Digest { return &repb.Digest{Hash: d.Hash(), SizeBytes: d.size} }

// EmptyDigest is the digest of no bytes.
var EmptyDigest = NewDigest(nil)

// DigestFromProto converts and validates a REAPI digest from an untrusted
// message.
func DigestFromProto(p *repb.Digest) (Digest, error) {
	if p == nil {
		return Digest{}, fmt.Errorf("missing digest")
	}
	return ParseDigest(p.GetHash() + "/" + strconv.FormatInt(p.GetSizeBytes(), 10))
}

// MustParseDigest is ParseDigest for constants and tests; it panics on a
// malformed digest.
func MustParseDigest(s string) Digest {
	d, err := ParseDigest(s)
	if err != nil {
		panic(err)
	}
	return d
}

// IsZero reports whether d is the zero Digest, which names no blob.
func (d Digest) IsZero() bool { return d == Digest{} }

// HashBytes returns the raw SHA-256.
func (d Digest) HashBytes() [32]byte { return d.hash }
