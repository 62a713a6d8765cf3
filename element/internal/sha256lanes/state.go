package sha256lanes

import (
	"crypto/sha256"
	"encoding"
	"encoding/binary"
	"fmt"
)

// useLanes is whether the SHA-NI kernels run; the tests turn it off to
// check the generic path on the same machine.
var useLanes = haveLanes()

// Lanes reports whether messages are hashed two at a time here.
func Lanes() bool { return useLanes }

// State is a SHA-256 part way through a message, as a value: a start that
// many messages share is hashed once, kept, and continued by each.
type State struct {
	h   [8]uint32
	n   uint64   // bytes written so far
	buf [64]byte // the last n%64 of them, not yet hashed
}

// The initial hash value (FIPS 180-4, section 5.3.3).
var initial = [8]uint32{
	0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
	0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
}

// New returns the state of a SHA-256 that has hashed nothing.
func New() State { return State{h: initial} }

// Len returns how many bytes the state has hashed.
func (s *State) Len() uint64 { return s.n }

// Write hashes p after what s has hashed.
func (s *State) Write(p []byte) {
	if !useLanes {
		s.writeGeneric(p)
		return
	}
	if held := int(s.n % 64); held > 0 {
		k := copy(s.buf[held:], p)
		s.n += uint64(k)
		p = p[k:]
		if held+k < 64 {
			return
		}
		blocks1(&s.h, &s.buf[0], 1)
	}
	if n := len(p) / 64; n > 0 {
		blocks1(&s.h, &p[0], n)
		s.n += uint64(n * 64)
		p = p[n*64:]
	}
	s.n += uint64(copy(s.buf[:], p))
}

// Sum returns the digest of what s has hashed; s is unchanged.
func (s *State) Sum() [32]byte {
	if !useLanes {
		d := s.generic()
		var sum [32]byte
		d.Sum(sum[:0])
		return sum
	}
	var tail [128]byte
	held := int(s.n % 64)
	copy(tail[:], s.buf[:held])
	p := pad(tail[:held], s.n)
	h := s.h
	blocks1(&h, &p[0], len(p)/64)
	return digest(&h)
}

// pad appends SHA-256's padding to b, the end of a message of n bytes in
// all, and returns it, a whole number of blocks long. b needs capacity
// for 72 bytes more at most.
func pad(b []byte, n uint64) []byte {
	held := len(b)
	end := (held + 1 + 8 + 63) &^ 63
	b = b[:end]
	b[held] = 0x80
	clear(b[held+1 : end-8])
	binary.BigEndian.PutUint64(b[end-8:], n*8)
	return b
}

// digest returns the eight words of h as the digest's 32 bytes.
func digest(h *[8]uint32) [32]byte {
	var sum [32]byte
	for i, w := range h {
		binary.BigEndian.PutUint32(sum[4*i:], w)
	}
	return sum
}

// generic returns a crypto/sha256 hash in state s.
func (s *State) generic() hashState {
	d := sha256.New().(hashState)
	var b [4 + 32 + 64 + 8]byte
	copy(b[:], "sha\x03")
	for i, w := range s.h {
		binary.BigEndian.PutUint32(b[4+4*i:], w)
	}
	copy(b[36:100], s.buf[:])
	binary.BigEndian.PutUint64(b[100:], s.n)
	if err := d.UnmarshalBinary(b[:]); err != nil {
		panic(fmt.Sprintf("sha256lanes: restoring a SHA-256 state: %v", err)) // cannot happen
	}
	return d
}

// writeGeneric is Write through crypto/sha256.
func (s *State) writeGeneric(p []byte) {
	d := s.generic()
	d.Write(p)
	var b [4 + 32 + 64 + 8]byte
	enc, err := d.AppendBinary(b[:0])
	if err != nil || len(enc) != len(b) {
		panic(fmt.Sprintf("sha256lanes: saving a SHA-256 state: %v", err)) // cannot happen
	}
	for i := range s.h {
		s.h[i] = binary.BigEndian.Uint32(enc[4+4*i:])
	}
	copy(s.buf[:], enc[36:100])
	s.n = binary.BigEndian.Uint64(enc[100:])
}

// hashState is what crypto/sha256's hashes implement.
type hashState interface {
	Write([]byte) (int, error)
	Sum([]byte) []byte
	encoding.BinaryAppender
	encoding.BinaryUnmarshaler
}

// UseGeneric makes messages hash one at a time through crypto/sha256 (or
// two at a time again, when false) and returns a function that undoes
// it: for tests of callers, which then check both paths on one machine.
// It must not be called while anything hashes.
func UseGeneric(generic bool) (restore func()) {
	saved := useLanes
	useLanes = !generic && haveLanes()
	return func() { useLanes = saved }
}
