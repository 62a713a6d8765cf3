package element

import (
	"reflect"
	"testing"
)

func TestHoldsPointers(t *testing.T) {
	for _, c := range []struct {
		t    reflect.Type
		want bool
	}{
		{reflect.TypeFor[byte](), false},
		{reflect.TypeFor[[4]uint32](), false},
		{reflect.TypeFor[struct {
			a int32
			b [2]bool
		}](), false},
		{reflect.TypeFor[*int](), true},
		{reflect.TypeFor[string](), true},
		{reflect.TypeFor[[]int32](), true},
		{reflect.TypeFor[struct {
			a int
			m map[int]int
		}](), true},
		{reflect.TypeFor[[0]*int](), false},
	} {
		if got := holdsPointers(c.t); got != c.want {
			t.Errorf("holdsPointers(%v) = %v, want %v", c.t, got, c.want)
		}
	}
	// The arrays ComputeKeys maps must stay free of pointers, or they
	// silently move to the heap.
	for _, typ := range []reflect.Type{reflect.TypeFor[prefixState](), reflect.TypeFor[int32](), reflect.TypeFor[uint32]()} {
		if holdsPointers(typ) {
			t.Errorf("%v holds pointers: ComputeKeys can no longer map its arrays", typ)
		}
	}
}

// Mapped arrays are zeroed, usable, and given back on release; arrays
// of a type with pointers come from the heap.
func TestScratch(t *testing.T) {
	b := mapMemory(4096)
	if b == nil {
		t.Skip("arrays are not mapped here")
	}
	unmapMemory(b)
	defer func(m int) { mapMin = m }(mapMin)
	mapMin = 1
	var s scratch
	a := scratchSlice[uint32](&s, 1000)
	for i, v := range a {
		if v != 0 {
			t.Fatalf("a[%d] = %d, want 0", i, v)
		}
		a[i] = uint32(i)
	}
	if len(s.maps) != 1 {
		t.Errorf("%d arrays mapped, want 1", len(s.maps))
	}
	p := scratchSlice[*int](&s, 1000)
	if len(p) != 1000 || len(s.maps) != 1 {
		t.Errorf("an array of pointers was mapped")
	}
	if e := scratchSlice[byte](&s, 0); len(e) != 0 {
		t.Errorf("empty array has length %d", len(e))
	}
	s.release()
	if s.maps != nil {
		t.Errorf("release left %d mappings", len(s.maps))
	}
}
