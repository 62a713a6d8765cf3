//go:build !linux

package main

// watchHeapWhileLoading does nothing here: huge pages are asked for on
// Linux only.
func watchHeapWhileLoading() (stop func()) { return func() {} }
