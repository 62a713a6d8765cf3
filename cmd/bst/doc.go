// Command bst builds BuildStream 2 projects. It is a thin layer of cobra
// commands: each parses its flags and calls into the packages that do the
// work (loader, element, ui, ...). Errors are mapped to exit codes in one
// place, exitcode.go.
package main
