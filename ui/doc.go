// Package ui is bst's terminal user interface: the output templates of
// `bst show` (BuildStream's %{symbol:spec} fields with Python format
// specs) and, later, the status bar and log lines of builds.
package ui
