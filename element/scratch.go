package element

import (
	"reflect"
	"unsafe"
)

// scratch hands out the large pointer-free arrays of one ComputeKeys
// call (fragment records, hash states, dependency indexes), which live
// exactly as long as the call. Large ones are mapped from the system
// rather than allocated on the heap: the runtime clears heap memory in
// the goroutine that allocates it, one processor touching every page of
// a 13 MB array for the first time, which on the machines we measure
// costs about 3 ms a megabyte, while mapped memory arrives zeroed and is
// touched by the workers that fill it, in parallel. release gives it
// back at the end of the call instead of leaving it to a collector that
// does not run while bst loads. Small arrays, and every array where
// mapping is not available, come from the heap.
type scratch struct {
	maps [][]byte
}

// mapMin is the size from which an array is mapped; a variable for the
// tests, which map everything.
var mapMin = 256 << 10

// scratchSlice returns a zeroed slice of n Ts from s. A T that holds
// pointers comes from the heap whatever its size: the collector does not
// look into mapped memory.
func scratchSlice[T any](s *scratch, n int) []T {
	var zero T
	size := int(unsafe.Sizeof(zero)) * n
	if size < mapMin || size == 0 || holdsPointers(reflect.TypeFor[T]()) {
		return make([]T, n)
	}
	b := mapMemory(size)
	if b == nil {
		return make([]T, n)
	}
	s.maps = append(s.maps, b)
	return unsafe.Slice((*T)(unsafe.Pointer(&b[0])), n)
}

// release unmaps what s mapped; nothing it handed out may be used after.
func (s *scratch) release() {
	for _, b := range s.maps {
		unmapMemory(b)
	}
	s.maps = nil
}

// holdsPointers reports whether values of t hold pointers the collector
// must see.
func holdsPointers(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Array:
		return t.Len() > 0 && holdsPointers(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if holdsPointers(t.Field(i).Type) {
				return true
			}
		}
		return false
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return false
	}
	return true
}
