// Package ui is bst's terminal user interface: the status bar and the log
// lines a session prints while it works, and the output templates of
// `bst show`.
//
// A template (see ParseTemplate) is text with %{symbol} fields, each of
// which may carry a Python format spec for strings, as in
// "%{state: >12} %{name:<30}|%{kind}". BuildStream passes each field to
// Python's str.format; FormatString reproduces the part of that
// mini-language which applies to strings, with Python 3.11 as the
// reference, so that templates written for BuildStream give the same
// padding and truncation here.
package ui
