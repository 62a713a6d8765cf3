//go:build amd64 && !purego

package sha256lanes

import "os"

//go:noescape
func blocks1(h *[8]uint32, p *byte, n int)

//go:noescape
func blocks2(ha, hb *[8]uint32, pa, pb *byte, n int)

func cpuid(leaf, sub uint32) (a, b, c, d uint32)

// haveLanes reports whether the processor has the instructions
// lanes_amd64.s uses: SSSE3 and SSE4.1 (leaf 1, ECX bits 9 and 19) and
// the SHA extensions (leaf 7, EBX bit 29).
func haveLanes() bool {
	if os.Getenv("BST_SHA256_GENERIC") != "" {
		return false
	}
	maxLeaf, _, _, _ := cpuid(0, 0)
	if maxLeaf < 7 {
		return false
	}
	_, _, c1, _ := cpuid(1, 0)
	_, b7, _, _ := cpuid(7, 0)
	return c1&(1<<9) != 0 && c1&(1<<19) != 0 && b7&(1<<29) != 0
}
