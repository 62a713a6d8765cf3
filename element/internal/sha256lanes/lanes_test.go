package sha256lanes

import (
	"crypto/sha256"
	"math/rand/v2"
	"testing"
)

// paths runs f on the lanes path, when this machine has it, and on the
// generic one.
func paths(t *testing.T, f func(t *testing.T)) {
	saved := useLanes
	t.Cleanup(func() { useLanes = saved })
	if saved {
		t.Run("lanes", f)
	} else {
		t.Log("no SHA extensions here: only the generic path runs")
	}
	useLanes = false
	t.Run("generic", f)
	useLanes = saved
}

// randomBytes returns n random bytes.
func randomBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func TestStateMatchesCryptoSHA256(t *testing.T) {
	paths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		// Every length around the block and padding boundaries, then
		// longer ones, each written in random pieces.
		for n := range 600 {
			if n > 300 {
				n = r.IntN(20000)
			}
			p := randomBytes(r, n)
			s := New()
			for rest := p; len(rest) > 0; {
				k := min(len(rest), r.IntN(200))
				s.Write(rest[:k])
				rest = rest[k:]
			}
			if got, want := s.Sum(), sha256.Sum256(p); got != want {
				t.Fatalf("%d bytes: got %x, want %x", n, got, want)
			}
			if s.Len() != uint64(n) {
				t.Fatalf("%d bytes: Len() = %d", n, s.Len())
			}
		}
	})
}

func TestBatchMatchesCryptoSHA256(t *testing.T) {
	paths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		var b Batch
		for round := range 200 {
			b.Reset()
			count := r.IntN(9)
			if round == 0 {
				count = 0
			}
			var starts []State
			var prefixes, rests [][]byte
			for k := range count {
				// Half continue a start of random length.
				prefix := randomBytes(r, r.IntN(300)*(k%2))
				s := New()
				s.Write(prefix)
				starts = append(starts, s)
				prefixes = append(prefixes, prefix)
				rest := randomBytes(r, r.IntN(3000))
				if r.IntN(4) == 0 {
					rest = rest[:min(len(rest), r.IntN(130))]
				}
				rests = append(rests, rest)
			}
			for k := range count {
				buf := b.Begin()
				buf = append(buf, rests[k]...)
				from := &starts[k]
				if len(prefixes[k]) == 0 && k%4 == 0 {
					from = nil
				}
				if i := b.End(buf, from); i != k {
					t.Fatalf("End returned %d for message %d", i, k)
				}
			}
			// Messages may be changed in place until Run.
			if count > 0 {
				if m := b.Bytes(0); len(m) > 0 {
					m[0] ^= 0xff
					rests[0][0] ^= 0xff
				}
			}
			b.Run()
			for k := range count {
				want := sha256.Sum256(append(append([]byte(nil), prefixes[k]...), rests[k]...))
				if got := b.Sum(k); got != want {
					t.Fatalf("round %d, message %d (%d+%d bytes): got %x, want %x",
						round, k, len(prefixes[k]), len(rests[k]), got, want)
				}
			}
		}
	})
}

func FuzzBatch(f *testing.F) {
	f.Add([]byte("abc"), []byte(""), uint8(3))
	f.Add(make([]byte, 55), make([]byte, 64), uint8(1))
	f.Fuzz(func(t *testing.T, a, c []byte, split uint8) {
		var s State = New()
		k := min(int(split), len(a))
		s.Write(a[:k])
		var b Batch
		i := b.End(append(b.Begin(), a[k:]...), &s)
		j := b.End(append(b.Begin(), c...), nil)
		b.Run()
		if b.Sum(i) != sha256.Sum256(a) || b.Sum(j) != sha256.Sum256(c) {
			t.Fatalf("digests differ from crypto/sha256")
		}
	})
}

func BenchmarkBatch(b *testing.B) {
	r := rand.New(rand.NewPCG(5, 6))
	msgs := make([][]byte, 64)
	total := 0
	for k := range msgs {
		msgs[k] = randomBytes(r, 2000+r.IntN(10000))
		total += len(msgs[k])
	}
	for _, lanes := range []bool{true, false} {
		name := "generic"
		if lanes {
			name = "lanes"
			if !haveLanes() {
				continue
			}
		}
		b.Run(name, func(b *testing.B) {
			saved := useLanes
			useLanes = lanes
			defer func() { useLanes = saved }()
			var batch Batch
			b.SetBytes(int64(total))
			for b.Loop() {
				batch.Reset()
				for _, m := range msgs {
					batch.End(append(batch.Begin(), m...), nil)
				}
				batch.Run()
			}
		})
	}
	b.Run("crypto", func(b *testing.B) {
		b.SetBytes(int64(total))
		for b.Loop() {
			for _, m := range msgs {
				sha256.Sum256(m)
			}
		}
	})
}
