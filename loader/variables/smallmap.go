package variables

// smallMap maps variable names to values. An element defines and
// recomputes only a few variables, so it starts as a slice searched
// linearly, which costs less to build and to search than a map for a
// handful of entries, and turns into a map past smallMapMax entries. The
// zero value is empty.
type smallMap[V any] struct {
	list []entry[V]
	m    map[string]V
}

type entry[V any] struct {
	name string
	val  V
}

const smallMapMax = 16

// newSmallMap returns a map with room for size entries.
func newSmallMap[V any](size int) smallMap[V] {
	if size > smallMapMax {
		return smallMap[V]{m: make(map[string]V, size)}
	}
	return smallMap[V]{list: make([]entry[V], 0, size)}
}

func (s *smallMap[V]) get(name string) (V, bool) {
	if s.m != nil {
		v, ok := s.m[name]
		return v, ok
	}
	for i := range s.list {
		if s.list[i].name == name {
			return s.list[i].val, true
		}
	}
	var zero V
	return zero, false
}

func (s *smallMap[V]) set(name string, v V) {
	if s.m != nil {
		s.m[name] = v
		return
	}
	for i := range s.list {
		if s.list[i].name == name {
			s.list[i].val = v
			return
		}
	}
	if len(s.list) == smallMapMax {
		s.m = make(map[string]V, 2*smallMapMax)
		for _, e := range s.list {
			s.m[e.name] = e.val
		}
		s.list = nil
		s.m[name] = v
		return
	}
	s.list = append(s.list, entry[V]{name, v})
}

func (s *smallMap[V]) delete(name string) {
	if s.m != nil {
		delete(s.m, name)
		return
	}
	for i := range s.list {
		if s.list[i].name == name {
			s.list = append(s.list[:i], s.list[i+1:]...)
			return
		}
	}
}

func (s *smallMap[V]) len() int {
	if s.m != nil {
		return len(s.m)
	}
	return len(s.list)
}

// each calls fn for every entry, in no particular order.
func (s *smallMap[V]) each(fn func(name string, v V)) {
	if s.m != nil {
		for n, v := range s.m {
			fn(n, v)
		}
		return
	}
	for _, e := range s.list {
		fn(e.name, e.val)
	}
}
