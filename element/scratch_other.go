//go:build !unix

package element

func mapMemory(n int) []byte { return nil }

func unmapMemory(b []byte) {}
