//go:build !linux

package element

func mapMemory(n int) []byte { return nil }

func unmapMemory(b []byte) {}
