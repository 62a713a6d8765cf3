// Package tests holds bst's end-to-end tests: testscript scripts under
// testdata/script, each a small real project and the bst commands run on
// it, checked against their output and exit status.
package tests
