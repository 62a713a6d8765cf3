//go:build !linux

package main

// watchHeapWhileLoading does nothing here: huge pages are asked for on
// Linux only.
func watchHeapWhileLoading() (stop func()) { return func() {} }

// totalMemory is not known here: loads keep the collector on.
func totalMemory() uint64 { return 0 }
