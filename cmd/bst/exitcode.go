package main

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/bstgo/bst/loader/node"
)

// exitError carries an explicit exit status (a shell's, say) out of a
// command.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

// usageError is a command line mistake.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// reportError prints err the way BuildStream does — the message, then its
// detail indented — and returns the exit status: 255 for every failure, as
// BuildStream's sys.exit(-1), 2 for command line usage errors.
func reportError(w io.Writer, err error, debug bool) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var ue *usageError
	if errors.As(err, &ue) {
		fmt.Fprintf(w, "Error: %s\nRun 'bst --help' for usage.\n", ue.msg)
		return 2
	}
	fmt.Fprintln(w)
	var le *node.Error
	if errors.As(err, &le) {
		msg := le.Msg
		if le.Prov.Valid() {
			msg = le.Prov.String() + ": " + msg
		}
		prefix := strings.TrimSuffix(strings.TrimSuffix(err.Error(), le.Error()), ": ")
		if prefix != "" && prefix != err.Error() {
			msg = "Error " + prefix + ": " + msg
		}
		fmt.Fprintln(w, msg)
		if le.Detail != "" {
			fmt.Fprintln(w)
			for _, line := range strings.Split(le.Detail, "\n") {
				fmt.Fprintln(w, "    "+line)
			}
		}
		if debug {
			fmt.Fprintf(w, "\n[reason: %s]\n", le.Reason)
		}
		return 255
	}
	fmt.Fprintln(w, err)
	return 255
}
