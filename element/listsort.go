package element

// ListSort sorts s in place exactly as CPython's list.sort (3.12, the copy
// BuildStream vendors as _loader/listsort.c) sorts with a key made by
// functools.cmp_to_key(cmp): a timsort with powersort merge policy, binary
// insertion for short runs and galloping merges.
//
// cmp returns <0, 0 or >0, and "a is less than b" means cmp(a, b) < 0. The
// comparisons are made in the same order and on the same pairs as CPython
// makes them, which matters because BuildStream's dependency comparator is
// not a total order: a different algorithm gives a different order, and
// different cache keys.
func ListSort[T any](s []T, cmp func(a, b T) int) {
	n := len(s)
	if n < 2 {
		return
	}
	ms := &mergeState[T]{lt: func(a, b T) bool { return cmp(a, b) < 0 }, minGallop: minGallop, listLen: n}
	lo := 0
	remaining := n
	minrun := computeMinrun(n)
	for remaining > 0 {
		runLen, descending := ms.countRun(s[lo : lo+remaining])
		if descending {
			reverse(s[lo : lo+runLen])
		}
		if runLen < minrun {
			force := min(remaining, minrun)
			ms.binarySort(s[lo:lo+force], runLen)
			runLen = force
		}
		ms.foundNewRun(s, lo, runLen)
		ms.pending = append(ms.pending, run{base: lo, len: runLen})
		lo += runLen
		remaining -= runLen
	}
	ms.forceCollapse(s)
}

const minGallop = 7

type run struct {
	base, len int
	power     int
}

type mergeState[T any] struct {
	lt        func(a, b T) bool
	minGallop int
	listLen   int
	pending   []run
	tmp       []T
}

func reverse[T any](s []T) {
	for i, j := 0, len(s)-1; i < j; i, j = i+1, j-1 {
		s[i], s[j] = s[j], s[i]
	}
}

// computeMinrun returns the minimum run length for n elements: n itself
// below 64, else a number in [32, 64] such that n/minrun is a power of two
// or a little less.
func computeMinrun(n int) int {
	r := 0
	for n >= 64 {
		r |= n & 1
		n >>= 1
	}
	return n + r
}

// countRun returns the length of the run at the start of s and whether it
// is strictly descending.
func (ms *mergeState[T]) countRun(s []T) (int, bool) {
	if len(s) == 1 {
		return 1, false
	}
	n := 2
	if ms.lt(s[1], s[0]) {
		for i := 2; i < len(s); i, n = i+1, n+1 {
			if !ms.lt(s[i], s[i-1]) {
				break
			}
		}
		return n, true
	}
	for i := 2; i < len(s); i, n = i+1, n+1 {
		if ms.lt(s[i], s[i-1]) {
			break
		}
	}
	return n, false
}

// binarySort sorts s, whose first start elements are already sorted, by
// binary insertion.
func (ms *mergeState[T]) binarySort(s []T, start int) {
	if start == 0 {
		start = 1
	}
	for ; start < len(s); start++ {
		l, r := 0, start
		pivot := s[r]
		for l < r {
			p := l + (r-l)>>1
			if ms.lt(pivot, s[p]) {
				r = p
			} else {
				l = p + 1
			}
		}
		copy(s[l+1:start+1], s[l:start])
		s[l] = pivot
	}
}

// gallopLeft returns k in [0, len(a)] such that a[k-1] < key <= a[k],
// searching from hint.
func (ms *mergeState[T]) gallopLeft(key T, a []T, hint int) int {
	n := len(a)
	lastofs, ofs := 0, 1
	if ms.lt(a[hint], key) {
		maxofs := n - hint
		for ofs < maxofs {
			if ms.lt(a[hint+ofs], key) {
				lastofs = ofs
				ofs = ofs<<1 + 1
			} else {
				break
			}
		}
		if ofs > maxofs {
			ofs = maxofs
		}
		lastofs += hint
		ofs += hint
	} else {
		maxofs := hint + 1
		for ofs < maxofs {
			if ms.lt(a[hint-ofs], key) {
				break
			}
			lastofs = ofs
			ofs = ofs<<1 + 1
		}
		if ofs > maxofs {
			ofs = maxofs
		}
		k := lastofs
		lastofs = hint - ofs
		ofs = hint - k
	}
	lastofs++
	for lastofs < ofs {
		m := lastofs + (ofs-lastofs)>>1
		if ms.lt(a[m], key) {
			lastofs = m + 1
		} else {
			ofs = m
		}
	}
	return ofs
}

// gallopRight returns k in [0, len(a)] such that a[k-1] <= key < a[k],
// searching from hint.
func (ms *mergeState[T]) gallopRight(key T, a []T, hint int) int {
	n := len(a)
	lastofs, ofs := 0, 1
	if ms.lt(key, a[hint]) {
		maxofs := hint + 1
		for ofs < maxofs {
			if ms.lt(key, a[hint-ofs]) {
				lastofs = ofs
				ofs = ofs<<1 + 1
			} else {
				break
			}
		}
		if ofs > maxofs {
			ofs = maxofs
		}
		k := lastofs
		lastofs = hint - ofs
		ofs = hint - k
	} else {
		maxofs := n - hint
		for ofs < maxofs {
			if ms.lt(key, a[hint+ofs]) {
				break
			}
			lastofs = ofs
			ofs = ofs<<1 + 1
		}
		if ofs > maxofs {
			ofs = maxofs
		}
		lastofs += hint
		ofs += hint
	}
	lastofs++
	for lastofs < ofs {
		m := lastofs + (ofs-lastofs)>>1
		if ms.lt(key, a[m]) {
			ofs = m
		} else {
			lastofs = m + 1
		}
	}
	return ofs
}

// powerloop computes the "power" of the boundary between two adjacent
// runs [s1, s1+n1) and [s1+n1, s1+n1+n2) in a list of n elements.
func powerloop(s1, n1, n2, n int) int {
	result := 0
	a := 2*s1 + n1
	b := a + n1 + n2
	for {
		result++
		if a >= n {
			a -= n
			b -= n
		} else if b >= n {
			break
		}
		a <<= 1
		b <<= 1
	}
	return result
}

// foundNewRun merges pending runs as the powersort policy requires before
// a new run of length n2 is pushed.
func (ms *mergeState[T]) foundNewRun(s []T, start, n2 int) {
	if len(ms.pending) == 0 {
		return
	}
	last := &ms.pending[len(ms.pending)-1]
	power := powerloop(last.base, last.len, n2, ms.listLen)
	for len(ms.pending) > 1 && ms.pending[len(ms.pending)-2].power > power {
		ms.mergeAt(s, len(ms.pending)-2)
	}
	ms.pending[len(ms.pending)-1].power = power
}

func (ms *mergeState[T]) forceCollapse(s []T) {
	for len(ms.pending) > 1 {
		n := len(ms.pending) - 2
		if n > 0 && ms.pending[n-1].len < ms.pending[n+1].len {
			n--
		}
		ms.mergeAt(s, n)
	}
}

// mergeAt merges the pending runs i and i+1.
func (ms *mergeState[T]) mergeAt(s []T, i int) {
	a, b := ms.pending[i], ms.pending[i+1]
	ms.pending[i].len = a.len + b.len
	if i == len(ms.pending)-3 {
		ms.pending[i+1] = ms.pending[i+2]
	}
	ms.pending = ms.pending[:len(ms.pending)-1]

	baseA, na := a.base, a.len
	baseB, nb := b.base, b.len
	// Where does b start in a? Elements of a already in place are skipped.
	k := ms.gallopRight(s[baseB], s[baseA:baseA+na], 0)
	baseA += k
	na -= k
	if na == 0 {
		return
	}
	// Where does a end in b? Elements of b already in place are skipped.
	nb = ms.gallopLeft(s[baseA+na-1], s[baseB:baseB+nb], nb-1)
	if nb <= 0 {
		return
	}
	if na <= nb {
		ms.mergeLo(s, baseA, na, baseB, nb)
	} else {
		ms.mergeHi(s, baseA, na, baseB, nb)
	}
}

// mergeLo merges the adjacent runs s[pa:pa+na] and s[pb:pb+nb] with
// na <= nb, copying the first run aside and filling from the left.
func (ms *mergeState[T]) mergeLo(s []T, pa, na, pb, nb int) {
	ms.tmp = append(ms.tmp[:0], s[pa:pa+na]...)
	a := ms.tmp
	ia := 0
	dest := pa
	ib := pb
	s[dest] = s[ib]
	dest++
	ib++
	nb--
	if nb == 0 {
		copy(s[dest:], a[ia:ia+na])
		return
	}
	if na == 1 {
		copy(s[dest:dest+nb], s[ib:ib+nb])
		s[dest+nb] = a[ia]
		return
	}
	mg := ms.minGallop
	for {
		acount, bcount := 0, 0
		for {
			if ms.lt(s[ib], a[ia]) {
				s[dest] = s[ib]
				dest++
				ib++
				bcount++
				acount = 0
				nb--
				if nb == 0 {
					copy(s[dest:], a[ia:ia+na])
					return
				}
				if bcount >= mg {
					break
				}
			} else {
				s[dest] = a[ia]
				dest++
				ia++
				acount++
				bcount = 0
				na--
				if na == 1 {
					copy(s[dest:dest+nb], s[ib:ib+nb])
					s[dest+nb] = a[ia]
					return
				}
				if acount >= mg {
					break
				}
			}
		}
		mg++
		for {
			if mg > 1 {
				mg--
			}
			ms.minGallop = mg
			k := ms.gallopRight(s[ib], a[ia:ia+na], 0)
			acount = k
			if k > 0 {
				copy(s[dest:dest+k], a[ia:ia+k])
				dest += k
				ia += k
				na -= k
				if na == 1 {
					copy(s[dest:dest+nb], s[ib:ib+nb])
					s[dest+nb] = a[ia]
					return
				}
				if na == 0 {
					return
				}
			}
			s[dest] = s[ib]
			dest++
			ib++
			nb--
			if nb == 0 {
				copy(s[dest:], a[ia:ia+na])
				return
			}
			k = ms.gallopLeft(a[ia], s[ib:ib+nb], 0)
			bcount = k
			if k > 0 {
				copy(s[dest:dest+k], s[ib:ib+k])
				dest += k
				ib += k
				nb -= k
				if nb == 0 {
					copy(s[dest:], a[ia:ia+na])
					return
				}
			}
			s[dest] = a[ia]
			dest++
			ia++
			na--
			if na == 1 {
				copy(s[dest:dest+nb], s[ib:ib+nb])
				s[dest+nb] = a[ia]
				return
			}
			if acount < minGallop && bcount < minGallop {
				break
			}
		}
		mg++
		ms.minGallop = mg
	}
}

// mergeHi merges the adjacent runs s[pa:pa+na] and s[pb:pb+nb] with
// na > nb, copying the second run aside and filling from the right.
func (ms *mergeState[T]) mergeHi(s []T, pa, na, pb, nb int) {
	ms.tmp = append(ms.tmp[:0], s[pb:pb+nb]...)
	b := ms.tmp
	dest := pb + nb - 1
	ib := nb - 1      // last of b (in tmp)
	ia := pa + na - 1 // last of a (in s)
	s[dest] = s[ia]
	dest--
	ia--
	na--
	if na == 0 {
		copy(s[dest-(nb-1):dest+1], b[:nb])
		return
	}
	if nb == 1 {
		// Move the rest of a up by one and put b's one element first.
		copy(s[dest-na+1:dest+1], s[ia-na+1:ia+1])
		s[dest-na] = b[ib]
		return
	}
	mg := ms.minGallop
	for {
		acount, bcount := 0, 0
		for {
			if ms.lt(b[ib], s[ia]) {
				s[dest] = s[ia]
				dest--
				ia--
				acount++
				bcount = 0
				na--
				if na == 0 {
					copy(s[dest-(nb-1):dest+1], b[ib-(nb-1):ib+1])
					return
				}
				if acount >= mg {
					break
				}
			} else {
				s[dest] = b[ib]
				dest--
				ib--
				bcount++
				acount = 0
				nb--
				if nb == 1 {
					copy(s[dest-na+1:dest+1], s[ia-na+1:ia+1])
					s[dest-na] = b[ib]
					return
				}
				if bcount >= mg {
					break
				}
			}
		}
		mg++
		for {
			if mg > 1 {
				mg--
			}
			ms.minGallop = mg
			k := ms.gallopRight(b[ib], s[pa:pa+na], na-1)
			k = na - k
			acount = k
			if k > 0 {
				dest -= k
				ia -= k
				copy(s[dest+1:dest+1+k], s[ia+1:ia+1+k])
				na -= k
				if na == 0 {
					copy(s[dest-(nb-1):dest+1], b[ib-(nb-1):ib+1])
					return
				}
			}
			s[dest] = b[ib]
			dest--
			ib--
			nb--
			if nb == 1 {
				copy(s[dest-na+1:dest+1], s[ia-na+1:ia+1])
				s[dest-na] = b[ib]
				return
			}
			k = ms.gallopLeft(s[ia], b[:nb], nb-1)
			k = nb - k
			bcount = k
			if k > 0 {
				dest -= k
				ib -= k
				copy(s[dest+1:dest+1+k], b[ib+1:ib+1+k])
				nb -= k
				if nb == 1 {
					copy(s[dest-na+1:dest+1], s[ia-na+1:ia+1])
					s[dest-na] = b[ib]
					return
				}
				if nb == 0 {
					return
				}
			}
			s[dest] = s[ia]
			dest--
			ia--
			na--
			if na == 0 {
				copy(s[dest-(nb-1):dest+1], b[ib-(nb-1):ib+1])
				return
			}
			if acount < minGallop && bcount < minGallop {
				break
			}
		}
		mg++
		ms.minGallop = mg
	}
}
