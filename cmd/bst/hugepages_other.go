//go:build !linux

package main

// adviseHugeHeap does nothing here: huge pages are asked for on Linux
// only.
func adviseHugeHeap() {}
