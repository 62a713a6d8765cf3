//go:build !amd64 || purego

package sha256lanes

func haveLanes() bool { return false }

func blocks1(h *[8]uint32, p *byte, n int) { panic("sha256lanes: no lanes here") }

func blocks2(ha, hb *[8]uint32, pa, pb *byte, n int) { panic("sha256lanes: no lanes here") }
