package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"runtime/pprof"
	"syscall"

	"github.com/bstgo/bst/sandbox"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "2.8.0+bst.dev"

func main() {
	// bst is its own sandbox init: libcontainer re-executes this binary
	// inside each new container. That must be caught before anything else.
	sandbox.MaybeInit()
	// BST_CPUPROFILE=file writes a CPU profile, for the benchmarks.
	if path := os.Getenv("BST_CPUPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			if pprof.StartCPUProfile(f) == nil {
				code := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
				pprof.StopCPUProfile()
				f.Close()
				os.Exit(code)
			}
		}
	}
	code := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	// BST_MEMPROFILE=file writes a heap profile at exit, for the benchmarks.
	if path := os.Getenv("BST_MEMPROFILE"); path != "" {
		if f, err := os.Create(path); err == nil {
			// A collection first, so that the profile counts every
			// allocation: it only shows those of completed cycles.
			runtime.GC()
			pprof.Lookup("heap").WriteTo(f, 0)
			f.Close()
		}
	}
	os.Exit(code)
}

// run executes one bst invocation and returns its exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The first signal cancels the run, which then ends cleanly; the next
	// one has its default effect, so that a bst stuck while ending can
	// still be stopped (with the signal caught for good, it could not).
	go func() {
		<-ctx.Done()
		stop()
	}()
	app := newApp(stdin, stdout, stderr)
	root := newRootCommand(app)
	root.SetArgs(rewriteOptionArgs(args))
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return app.exitCode
	}
	return reportError(stderr, err, app.debug)
}

// rewriteOptionArgs turns BuildStream's two-valued `-o KEY VALUE` (and
// `--option KEY VALUE`) into `--option=KEY=VALUE`, and `--mount HOSTPATH
// PATH` into one argument, which the flag parser understands. Arguments
// after `--` are left alone.
func rewriteOptionArgs(args []string) []string {
	out := make([]string, 0, len(args))
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			out = append(out, args[i:]...)
			break
		}
		if (a == "-o" || a == "--option") && i+2 < len(args) {
			out = append(out, fmt.Sprintf("--option=%s=%s", args[i+1], args[i+2]))
			i += 2
			continue
		}
		// bst shell's `--mount HOSTPATH PATH`, joined by a NUL, which no
		// argument can hold.
		if a == "--mount" && i+2 < len(args) {
			out = append(out, "--mount="+args[i+1]+"\x00"+args[i+2])
			i += 2
			continue
		}
		out = append(out, a)
	}
	return out
}
