package node

// arena holds the nodes of trees that live only until it is reset: a
// loader parses an element file, composes what it keeps into trees of its
// own and goes on to the next file, so the file's tree can be made of
// memory that the next file reuses rather than of objects for the garbage
// collector. reset zeroes what was used, so that a node kept by mistake is
// visibly empty rather than silently part of another file.
type arena struct {
	nodes slab[Node]
	items slab[*Node]
	keys  slab[string]
}

func (a *arena) reset() {
	a.nodes.reset()
	a.items.reset()
	a.keys.reset()
}

// slabChunk is the size of a slab's chunks, in elements.
const slabChunk = 512

// slab hands out runs of Ts from chunks it keeps, until reset.
type slab[T any] struct {
	chunks [][]T
	c, i   int // the next free run starts at chunks[c][i]
}

// take returns k elements, capped at k so that appending copies them out.
func (s *slab[T]) take(k int) []T {
	for {
		if s.c < len(s.chunks) {
			if ch := s.chunks[s.c]; s.i+k <= len(ch) {
				r := ch[s.i : s.i+k : s.i+k]
				s.i += k
				return r
			}
			s.c++
			s.i = 0
			continue
		}
		s.chunks = append(s.chunks, make([]T, max(k, slabChunk)))
	}
}

func (s *slab[T]) reset() {
	for c := 0; c < s.c && c < len(s.chunks); c++ {
		clear(s.chunks[c])
	}
	if s.c < len(s.chunks) {
		clear(s.chunks[s.c][:s.i])
	}
	s.c, s.i = 0, 0
}
